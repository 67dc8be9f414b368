"""Files the benchmarks serve and download: a YouTube-sized thumbnail, a large video-sized
file, and a real video long enough to keep three downloads busy."""

import os
import subprocess
from pathlib import Path

from offlinetube_api.ffmpeg import locate_ffmpeg

WRITE_CHUNK = 4 * 1024 * 1024


def ffmpeg(*args: str) -> None:
    binary = locate_ffmpeg().path
    if binary is None:
        raise RuntimeError("no ffmpeg: install it or the imageio-ffmpeg wheel")
    subprocess.run(
        [binary, "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=300
    )


def make_thumbnail(path: Path) -> Path:
    """480x360, like YouTube's hqdefault.jpg."""
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=480x360:duration=1", "-frames:v", "1", str(path))
    return path


def make_blob(path: Path, size: int) -> Path:
    """Incompressible bytes: the stream route never looks inside the file."""
    with path.open("wb") as out:
        left = size
        while left:
            chunk = os.urandom(min(WRITE_CHUNK, left))
            out.write(chunk)
            left -= len(chunk)
    return path


def make_long_video(path: Path, seconds: int) -> Path:
    """A real H.264/AAC MP4 of a few MB per second of noise, so a paced download of it lasts
    as long as a measurement needs."""
    noise = f"nullsrc=size=320x240:rate=25:duration={seconds},geq=random(1)*255:128:128"
    ffmpeg(
        "-f", "lavfi", "-i", noise,
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "2M", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-movflags", "+faststart", "-shortest", str(path),
    )  # fmt: skip
    return path
