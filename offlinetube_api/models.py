"""The task domain: what a download is, the states it goes through, why it failed."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

URL_HELP = (
    "url must be an absolute http:// or https:// address, e.g. https://example.com/watch?v=abc"
)


class TaskStatus(StrEnum):
    """Life cycle: queued -> downloading -> processing -> completed, failed or cancelled."""

    QUEUED = "queued"
    DOWNLOADING = "downloading"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_active(self) -> bool:
        return self in (TaskStatus.DOWNLOADING, TaskStatus.PROCESSING)

    @property
    def is_final(self) -> bool:
        return self in (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED)


class ErrorKind(StrEnum):
    """Why a task failed; network and rate_limited failures are retried automatically."""

    NETWORK = "network"
    RATE_LIMITED = "rate_limited"
    NOT_FOUND = "not_found"
    UNSUPPORTED = "unsupported"
    AUTH_REQUIRED = "auth_required"
    DISK_FULL = "disk_full"
    POSTPROCESS = "postprocess"
    CANCELLED = "cancelled"
    FORBIDDEN_TARGET = "forbidden_target"
    KILLED = "killed"  # the download process died by a signal (the OOM killer, a kill -9)
    STORAGE = "storage"  # a folder refused a write (read-only, permissions)
    TOO_LARGE = "too_large"  # over OFFLINETUBE_MAX_FILESIZE
    FILE_MISSING = "file_missing"  # completed once, but its file left the downloads folder
    UNKNOWN = "unknown"

    @property
    def is_transient(self) -> bool:
        return self in (ErrorKind.NETWORK, ErrorKind.RATE_LIMITED, ErrorKind.KILLED)


class WaitingReason(StrEnum):
    """Why a queued task waits although a download slot may be free (worker/site_gate.py):
    its site is cooling down after a rate limit or a bot check, or runs as many downloads as
    OFFLINETUBE_MAX_PER_SITE allows."""

    RATE_LIMITED = "rate_limited"
    BOT_CHECK = "bot_check"
    SITE_BUSY = "site_busy"


class AudioFormat(StrEnum):
    M4A = "m4a"
    MP3 = "mp3"


@dataclass(frozen=True, slots=True)
class Task:
    """One download as the store keeps it."""

    id: str
    url: str
    format: str | None
    status: TaskStatus
    created_at: datetime
    title: str | None = None
    progress: float = 0.0
    downloaded_bytes: int | None = None
    total_bytes: int | None = None
    speed: float | None = None
    eta: int | None = None
    error: str | None = None
    filename: str | None = None
    filesize: int | None = None
    ext: str | None = None
    duration: float | None = None
    thumbnail_file: str | None = None
    remote_thumbnail: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempts: int = 0
    error_kind: ErrorKind | None = None
    playlist_id: str | None = None
    playlist_index: int | None = None
    audio_format: AudioFormat | None = None  # set: extract the audio only
    subtitle_langs: tuple[str, ...] = ()
    subtitle_files: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # what was skipped and why, for a person to read
    transcoded: bool = False  # re-encoded to H.264/AAC because nothing browser-playable existed
    source_url: str | None = None  # the URL as posted, when it expanded into a playlist
    # Which of the videos embedded in the page at `url` to download (1-based, yt-dlp's
    # playlist_items), for a video that has no address of its own; None: the page's first.
    page_item: int | None = None
    # The process group of its latest download process and when that group's leader started
    # (clock ticks after boot): a restart checks that nothing of it is still alive.
    process_group: int | None = None
    process_started: int | None = None
    # The cookie set (its name) the task uses: the one its request named, else the one whose
    # domain its latest attempt found matching the URL's host (cookie_sets.py).
    cookies: str | None = None
    subscription_id: str | None = None  # the subscription whose check queued it
    # yt-dlp's extractor and video id, where known before the download (a subscription's
    # listing): the same video under another address is a duplicate.
    extractor: str | None = None
    video_id: str | None = None
    # The site its downloads count against (worker/sites.py), set when a run starts.
    site: str | None = None
    # While queued: when the gate lets it start at the earliest (None: at the next look) and
    # why it waits; both None for a task that only waits for a slot.
    waiting_until: datetime | None = None
    waiting_reason: WaitingReason | None = None


@dataclass(frozen=True, slots=True)
class DownloadOrder:
    """What to download and how: the part of a task a client chooses."""

    url: str
    format: str | None = None
    audio_format: AudioFormat | None = None
    subtitle_langs: tuple[str, ...] = ()
    title: str | None = None
    cookies: str | None = None  # a cookie set's name; None: the set whose domain matches, if any
    subscription_id: str | None = None
    extractor: str | None = None
    video_id: str | None = None


def checked_download_url(url: str) -> str:
    """`url` without surrounding blanks, if it is an absolute http(s) address: the one rule for
    every address a download starts from, posted or found in a playlist.

    Raises ValueError(URL_HELP) otherwise."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(URL_HELP)
    # Blanks, control characters and lone surrogates inside an address are never valid
    # (RFC 3986 section 2); such a URL would only fail later, inside the download.
    if any(char.isspace() or not char.isprintable() for char in url):
        raise ValueError(URL_HELP)
    try:
        parts.port  # noqa: B018 - reading it checks it: 0-65535, digits only (RFC 3986 3.2.3)
    except ValueError:
        raise ValueError(f"{URL_HELP}; its port is not a number from 0 to 65535") from None
    return url
