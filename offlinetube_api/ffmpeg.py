"""Finds the ffmpeg binary: the one on PATH, else the one shipped by imageio-ffmpeg; says how
the service lets it read its inputs."""

import re
import shutil
import subprocess
from dataclasses import dataclass
from enum import StrEnum

from offlinetube_api.program_version import version_of

# Put before every input of every ffmpeg the service starts: ffmpeg may read local files and
# pipes, never a network address, even when a file is a playlist that lists one. A playlist
# that lists other local files is refused before ffmpeg sees it (worker/download_checks.py).
LOCAL_FILES_ONLY = ("-protocol_whitelist", "file,pipe")


class FfmpegSource(StrEnum):
    PATH = "path"
    IMAGEIO = "imageio-ffmpeg"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class FfmpegBinary:
    path: str | None
    source: FfmpegSource
    version: str | None


def _bundled_ffmpeg() -> str | None:
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError:  # the wheel has no binary for this platform
        return None


def _version_of(path: str) -> str | None:
    return version_of([path, "-version"], r"ffmpeg version (\S+)")


_DURATION = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
# "  Stream #0:0[0x1](und): Video: hevc (Main) (hvc1 / 0x31637668), yuv420p(tv), 640x480 ..."
_STREAM = re.compile(r"^\s*Stream #\d+:\d+\S*: (Video|Audio): (\w+)(.*)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class MediaCodecs:
    """ffmpeg's names of a file's codecs (h264, hevc, vp9, av1, mpeg4, aac, opus, mp3, ...)."""

    video: tuple[str, ...]  # cover art ("attached pic") left out
    audio: tuple[str, ...]


def _describe(ffmpeg_path: str, media_file: str) -> str | None:
    """What `ffmpeg -i` says about a file (ffprobe is not always there: the imageio-ffmpeg
    wheel ships ffmpeg alone). Blocking."""
    try:
        completed = subprocess.run(
            [ffmpeg_path, "-hide_banner", *LOCAL_FILES_ONLY, "-i", media_file],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stderr


def media_duration(ffmpeg_path: str, media_file: str) -> float | None:
    """Length of a media file in seconds. Blocking."""
    match = _DURATION.search(_describe(ffmpeg_path, media_file) or "")
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return round(int(hours) * 3600 + int(minutes) * 60 + float(seconds), 3)


def media_codecs(ffmpeg_path: str, media_file: str) -> MediaCodecs | None:
    """The codecs of a media file's streams; None when ffmpeg cannot read it. Blocking."""
    description = _describe(ffmpeg_path, media_file)
    if description is None:
        return None
    streams = [
        (kind, codec)
        for kind, codec, rest in _STREAM.findall(description)
        if "(attached pic)" not in rest
    ]
    return MediaCodecs(
        video=tuple(codec for kind, codec in streams if kind == "Video"),
        audio=tuple(codec for kind, codec in streams if kind == "Audio"),
    )


def locate_ffmpeg() -> FfmpegBinary:
    """Blocking: runs `ffmpeg -version`. Call once at start-up, off the event loop."""
    on_path = shutil.which("ffmpeg")
    if on_path:
        return FfmpegBinary(on_path, FfmpegSource.PATH, _version_of(on_path))
    bundled = _bundled_ffmpeg()
    if bundled:
        return FfmpegBinary(bundled, FfmpegSource.IMAGEIO, _version_of(bundled))
    return FfmpegBinary(None, FfmpegSource.NONE, None)
