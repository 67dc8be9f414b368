"""What crosses the boundary between the service and a download process: small, picklable
dataclasses, one job in and a stream of reports out, always ending in Finished, Failed or
PlaylistFound."""

from dataclasses import dataclass
from enum import StrEnum

from offlinetube_api.js_runtime import JsRuntime
from offlinetube_api.logs import LogFormat
from offlinetube_api.models import AudioFormat, ErrorKind


@dataclass(frozen=True, slots=True)
class DownloadJob:
    task_id: str
    url: str
    format: str | None
    downloads_dir: str  # the library's folder: free space is checked there, errors name it
    thumbnails_dir: str
    partial_dir: str
    # Where yt-dlp puts the finished files (its `home` path), inside `partial_dir`: the worker
    # moves them into `downloads_dir` only once it knows the task is still its own.
    finished_dir: str
    ffmpeg_path: str | None
    js_runtime: JsRuntime | None = None  # None: yt-dlp gets none, not its own default
    audio_format: AudioFormat | None = None
    subtitle_langs: tuple[str, ...] = ()
    min_free_bytes: int = 0
    playlist_limit: int | None = None  # None: this task is a playlist entry, download one video
    page_item: int | None = None  # which video of the page to download; None: the first
    allow_private_urls: bool = False
    transcode_unplayable: bool = True  # re-encode a default download a browser cannot play
    allowed_networks: tuple[str, ...] = ()  # admitted by the SSRF guard though not public
    proxy: str | None = None  # yt-dlp's `proxy` ("": none); None: the environment's, if any
    max_filesize: int | None = None  # bytes; None: no cap
    sleep_interval: float | None = None  # seconds between requests (OFFLINETUBE_SLEEP_INTERVAL)
    # A 0600 copy of the task's cookie set, made for this process alone (cookie_sets.py);
    # yt-dlp reads it and writes it back, and the worker deletes it once the process ends.
    cookie_file: str | None = None
    log_level: str = "info"  # OFFLINETUBE_LOG_LEVEL
    log_format: LogFormat = LogFormat.TEXT  # OFFLINETUBE_LOG_FORMAT


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
    subtitle_files: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # what was skipped (a thumbnail, a subtitle) and why
    transcoded: bool = False  # re-encoded to H.264/AAC MP4 for browsers


@dataclass(frozen=True, slots=True)
class Failed:
    error: str
    kind: ErrorKind = ErrorKind.UNKNOWN


@dataclass(frozen=True, slots=True)
class PlaylistEntry:
    """One video of a playlist. `page_item` is set for a video that has no address of its own
    (a `<video>` embedded in the page): download `url`, the page, with that playlist item."""

    url: str
    title: str | None
    position: int  # 1-based, in playlist order, as yt-dlp's playlist_items counts
    page_item: int | None = None


@dataclass(frozen=True, slots=True)
class PlaylistFound:
    """The URL is a playlist: nothing was downloaded; the service makes one task per entry."""

    title: str | None
    entries: tuple[PlaylistEntry, ...]


Outcome = Finished | Failed | PlaylistFound
Report = Progress | Metadata | Outcome
