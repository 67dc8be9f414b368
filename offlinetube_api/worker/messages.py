"""What crosses the boundary between the service and a download process: small, picklable
dataclasses, one job in and a stream of reports out, always ending in Finished or Failed."""

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class DownloadJob:
    task_id: str
    url: str
    format: str | None
    downloads_dir: str
    thumbnails_dir: str
    partial_dir: str
    ffmpeg_path: str | None


class Stage(StrEnum):
    DOWNLOADING = "downloading"
    PROCESSING = "processing"


@dataclass(frozen=True, slots=True)
class Progress:
    stage: Stage
    downloaded_bytes: int | None = None
    total_bytes: int | None = None
    speed: float | None = None
    eta: int | None = None


@dataclass(frozen=True, slots=True)
class Metadata:
    """What yt-dlp learned about the video before downloading it."""

    title: str | None
    duration: float | None
    remote_thumbnail: str | None


@dataclass(frozen=True, slots=True)
class Finished:
    filename: str
    ext: str
    filesize: int
    duration: float | None


@dataclass(frozen=True, slots=True)
class Failed:
    error: str


Report = Progress | Metadata | Finished | Failed
