"""A default download a browser can show: the codecs browsers decode, the same judgement of the
codecs a site declares for a format (GET /api/info), and the post-processor that re-encodes a
download a browser cannot play to H.264/AAC MP4. (The format preference that makes this rare is
DEFAULT_FORMAT in ytdlp_options.py.)"""

import os
from pathlib import Path
from typing import Any

from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor
from yt_dlp.utils import PostProcessingError

from offlinetube_api.ffmpeg import MediaCodecs, media_codecs

# ffmpeg's names of what Chromium and Firefox decode on any machine, without hardware help.
BROWSER_VIDEO_CODECS = frozenset({"h264", "vp8", "vp9", "av1"})
BROWSER_AUDIO_CODECS = frozenset({"aac", "mp3", "opus", "vorbis", "flac"})

# How sites and yt-dlp name codecs (RFC 6381 tags such as avc1.64001F, or plain names), by how
# the name starts, in ffmpeg's names. First match wins: MP3 in MP4 is mp4a.40.34 or mp4a.6B.
_DECLARED_NAMES = (
    ("avc", "h264"),
    ("h264", "h264"),
    ("hvc", "hevc"),
    ("hev", "hevc"),
    ("h265", "hevc"),
    ("vp09", "vp9"),
    ("vp9", "vp9"),
    ("vp8", "vp8"),
    ("av01", "av1"),
    ("av1", "av1"),
    ("mp4a.40.34", "mp3"),
    ("mp4a.6b", "mp3"),
    ("mp4a", "aac"),
    ("aac", "aac"),
    ("mp3", "mp3"),
    ("opus", "opus"),
    ("vorbis", "vorbis"),
    ("flac", "flac"),
)
_ABSENT = "none"  # yt-dlp's vcodec/acodec of a track the format does not have

_TO_H264 = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p")
_EVEN_SIZE = ("-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2")  # yuv420p needs even width and height
_TO_AAC = ("-c:a", "aac", "-b:a", "160k")


def unplayable_codecs(codecs: MediaCodecs) -> list[str]:
    """The codecs of a file that browsers cannot decode, video first."""
    video = [codec for codec in codecs.video if codec not in BROWSER_VIDEO_CODECS]
    audio = [codec for codec in codecs.audio if codec not in BROWSER_AUDIO_CODECS]
    return video + audio


def ffmpeg_codec_name(declared: str) -> str:
    """ffmpeg's name of a codec as a site declares it (`avc1.42c00d` -> `h264`); unknown names
    come back lower-cased, and are then not among the browsers' codecs."""
    lowered = declared.lower()
    return next((name for prefix, name in _DECLARED_NAMES if lowered.startswith(prefix)), lowered)


def declared_playable(vcodec: str | None, acodec: str | None) -> bool | None:
    """Whether a browser plays a format, by `unplayable_codecs`, from yt-dlp's `vcodec` and
    `acodec` for it (`"none"`: no such track; None: the site does not say). False for a codec
    browsers do not decode, or a format with neither track (a storyboard); None when a track's
    codec is unknown and the other is playable; True otherwise (a video-only format plays
    without sound)."""
    video, audio = (() if codec == _ABSENT else (codec,) for codec in (vcodec, acodec))
    if not video and not audio:
        return False
    codecs = MediaCodecs(
        video=tuple(ffmpeg_codec_name(codec) for codec in video if codec),
        audio=tuple(ffmpeg_codec_name(codec) for codec in audio if codec),
    )
    if unplayable_codecs(codecs):
        return False
    return None if None in (*video, *audio) else True


def _transcode_options(codecs: MediaCodecs) -> list[str]:
    """The first video track (never cover art) and the first audio track, each copied when it
    is H.264 or AAC already and re-encoded otherwise."""
    options = ["-map", "0:V:0", "-map", "0:a:0?"]
    options += ["-c:v", "copy"] if codecs.video[0] == "h264" else [*_TO_H264, *_EVEN_SIZE]
    options += ["-c:a", "copy"] if codecs.audio[:1] == ("aac",) else list(_TO_AAC)
    return options


class BrowserPlayable(FFmpegPostProcessor):  # type: ignore[misc]
    """Runs after merging and remuxing, on a download made with the default format: when a
    browser cannot decode its video or audio, re-encodes it to H.264/AAC MP4 (`transcoded`
    says it did) or, with transcoding off or failing, keeps it and notes why in `skipped`."""

    def __init__(self, downloader: Any, *, transcode: bool, skipped: list[str]) -> None:
        super().__init__(downloader)  # finds ffmpeg through the downloader's ffmpeg_location
        self._transcode = transcode
        self._skipped = skipped
        self.transcoded = False

    def run(self, info: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
        source = Path(info["filepath"])
        codecs = media_codecs(self.executable, str(source)) if self.available else None
        if codecs is None or not codecs.video:  # unreadable, or sound only: nothing to show
            return [], info
        foreign = ", ".join(unplayable_codecs(codecs))
        if not foreign:
            return [], info
        if not self._transcode:
            self._skipped.append(
                f"Browsers cannot play this file's {foreign}; it was kept as it is "
                "(OFFLINETUBE_TRANSCODE=never)"
            )
            return [], info
        try:
            target = self._to_mp4(source, codecs)
        except PostProcessingError as exc:
            self._skipped.append(f"Browsers cannot play this file's {foreign}; {exc}")
            return [], info
        self.transcoded = True
        info.update(filepath=str(target), ext="mp4")
        return ([str(source)] if target != source else []), info

    def _to_mp4(self, source: Path, codecs: MediaCodecs) -> Path:
        target = source.with_suffix(".mp4")
        partial = source.with_suffix(".transcoding.mp4")
        self.to_screen(f"Transcoding {source.name} to H.264/AAC MP4")
        try:
            self.run_ffmpeg(str(source), str(partial), _transcode_options(codecs))
        except PostProcessingError as exc:
            partial.unlink(missing_ok=True)
            raise PostProcessingError(f"transcoding to H.264/AAC failed ({exc})") from exc
        os.replace(partial, target)
        return target
