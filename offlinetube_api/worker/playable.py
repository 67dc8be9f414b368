"""A default download a browser can show: the codecs browsers decode, and the post-processor that
re-encodes a download a browser cannot play to H.264/AAC MP4. (The format preference that makes
this rare is DEFAULT_FORMAT in ytdlp_options.py.)"""

import os
from pathlib import Path
from typing import Any

from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor
from yt_dlp.utils import PostProcessingError

from offlinetube_api.ffmpeg import MediaCodecs, media_codecs

# ffmpeg's names of what Chromium and Firefox decode on any machine, without hardware help.
BROWSER_VIDEO_CODECS = frozenset({"h264", "vp8", "vp9", "av1"})
BROWSER_AUDIO_CODECS = frozenset({"aac", "mp3", "opus", "vorbis", "flac"})

_TO_H264 = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p")
_EVEN_SIZE = ("-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2")  # yuv420p needs even width and height
_TO_AAC = ("-c:a", "aac", "-b:a", "160k")


def unplayable_codecs(codecs: MediaCodecs) -> list[str]:
    """The codecs of a file that browsers cannot decode, video first."""
    video = [codec for codec in codecs.video if codec not in BROWSER_VIDEO_CODECS]
    audio = [codec for codec in codecs.audio if codec not in BROWSER_AUDIO_CODECS]
    return video + audio


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
