"""Finds the ffmpeg binary: the one on PATH, else the one shipped by imageio-ffmpeg."""

import re
import shutil
import subprocess
from dataclasses import dataclass
from enum import StrEnum


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
    try:
        completed = subprocess.run(
            [path, "-version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"ffmpeg version (\S+)", completed.stdout)
    return match[1] if match else None


_DURATION = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")


def media_duration(ffmpeg_path: str, media_file: str) -> float | None:
    """Length of a media file in seconds, read from `ffmpeg -i` (ffprobe is not always there:
    the imageio-ffmpeg wheel ships ffmpeg alone). Blocking."""
    try:
        completed = subprocess.run(
            [ffmpeg_path, "-hide_banner", "-i", media_file],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _DURATION.search(completed.stderr)
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return round(int(hours) * 3600 + int(minutes) * 60 + float(seconds), 3)


def locate_ffmpeg() -> FfmpegBinary:
    """Blocking: runs `ffmpeg -version`. Call once at start-up, off the event loop."""
    on_path = shutil.which("ffmpeg")
    if on_path:
        return FfmpegBinary(on_path, FfmpegSource.PATH, _version_of(on_path))
    bundled = _bundled_ffmpeg()
    if bundled:
        return FfmpegBinary(bundled, FfmpegSource.IMAGEIO, _version_of(bundled))
    return FfmpegBinary(None, FfmpegSource.NONE, None)
