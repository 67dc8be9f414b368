"""What crosses the boundary between the service and an info process (GET /api/info): one
InfoJob in, one report out, VideoInfo or InfoFailed. Small, picklable dataclasses; the
service turns them into the answer's schema (offlinetube_api/info_schemas.py)."""

from dataclasses import dataclass

from offlinetube_api.js_runtime import JsRuntime
from offlinetube_api.logs import LogFormat
from offlinetube_api.models import ErrorKind


@dataclass(frozen=True, slots=True)
class InfoJob:
    url: str
    playlist_cap: int  # the most playlist entries read and reported
    js_runtime: JsRuntime | None = None
    allow_private_urls: bool = False
    allowed_networks: tuple[str, ...] = ()  # admitted by the SSRF guard though not public
    proxy: str | None = None  # yt-dlp's `proxy` ("": none); None: the environment's, if any
    cookie_file: str | None = None  # a 0600 copy of the chosen cookie set, for this process
    log_level: str = "info"
    log_format: LogFormat = LogFormat.TEXT


@dataclass(frozen=True, slots=True)
class FormatInfo:
    """One format yt-dlp offers, as it names things (`format_id`, `ext`, `vcodec`...)."""

    format_id: str
    ext: str | None
    width: int | None  # pixels
    height: int | None
    fps: float | None  # frames per second
    vcodec: str | None  # None: not declared; "none": no video
    acodec: str | None
    filesize: int | None  # bytes, exact (yt-dlp's filesize) or else an estimate
    filesize_estimated: bool  # True when `filesize` is yt-dlp's filesize_approx
    browser_playable: bool | None  # worker/playable.py's rule; None: codecs not declared
    note: str | None  # yt-dlp's format_note ("DASH video", "1080p", ...)


@dataclass(frozen=True, slots=True)
class EntryInfo:
    url: str
    title: str | None
    position: int  # 1-based


@dataclass(frozen=True, slots=True)
class PlaylistInfo:
    entries: tuple[EntryInfo, ...]  # at most `cap`
    cap: int  # InfoJob.playlist_cap
    truncated: bool  # the page has more entries than were read


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """A video page (`playlist` None) or a playlist page (`formats` empty)."""

    url: str  # the page, as yt-dlp names it (webpage_url)
    title: str | None
    duration: float | None  # seconds
    uploader: str | None
    thumbnail: str | None  # the site's URL of the thumbnail yt-dlp would pick
    extractor: str | None  # yt-dlp's extractor key ("Youtube", "Generic", ...)
    formats: tuple[FormatInfo, ...]
    default_format: str | None  # the format id(s) a download without `format` would get
    playlist: PlaylistInfo | None


@dataclass(frozen=True, slots=True)
class InfoFailed:
    error: str  # yt-dlp's message, or the SSRF guard's refusal
    kind: ErrorKind = ErrorKind.UNKNOWN


InfoReport = VideoInfo | InfoFailed
