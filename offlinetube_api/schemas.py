"""The API's request and response schemas, with their OpenAPI examples."""

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from offlinetube_api.cookie_files import NAME_PATTERN as COOKIE_SET_NAME
from offlinetube_api.cookie_sets import CookieSet
from offlinetube_api.models import (
    AudioFormat,
    DownloadOrder,
    ErrorKind,
    Task,
    TaskStatus,
    WaitingReason,
    checked_download_url,
)
from offlinetube_api.ports import QueueFigures
from offlinetube_api.readiness import Check

_EXAMPLE_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
URL_MAX_LENGTH = 4096
LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"
# What `checked_download_url` enforces, as far as a JSON Schema pattern can say it: http or
# https in any case, then a host; blanks around the address are trimmed, none may stand inside.
URL_PATTERN = r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]\S*\s*$"


def one_line(value: str | None) -> str | None:
    """A title or format is one line of text: C0 controls and DEL (NUL, newlines, escapes)
    would reach file metadata, logs and the database (PostgreSQL refuses NUL)."""
    if value is not None and any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("must not contain control characters (such as NUL or a newline)")
    return value


class DownloadOptions(BaseModel):
    """How to download: the same for a download request and a subscription's videos."""

    format: str | None = Field(
        default=None,
        max_length=512,
        description="Optional yt-dlp format selector, or a `format_id` from `GET /api/info`; "
        "the default gives a browser-playable file.",
    )
    audio_only: bool = Field(default=False, description="Keep only the audio.")
    audio_format: AudioFormat = Field(
        default=AudioFormat.M4A, description="With `audio_only`: `m4a` (AAC) or `mp3`."
    )
    subtitles: list[Annotated[str, Field(pattern=LANGUAGE_PATTERN)]] = Field(
        default_factory=list,
        max_length=20,
        description='Subtitle languages to save as WebVTT beside the video, e.g. `["en", "es"]`.',
    )

    @field_validator("format")
    @classmethod
    def format_is_one_line(cls, value: str | None) -> str | None:
        """Blank means the default format."""
        value = one_line(value)
        return value.strip() or None if value is not None else None

    def chosen_audio_format(self) -> AudioFormat | None:
        return self.audio_format if self.audio_only else None

    def subtitle_langs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.subtitles))


class DownloadRequest(DownloadOptions):
    """What a client posts to start a download."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ"}]}
    )

    url: str = Field(
        max_length=URL_MAX_LENGTH,
        description="Page of the video to download: an absolute `http://` or `https://` address.",
        json_schema_extra={"format": "uri", "pattern": URL_PATTERN},
    )
    title: str | None = Field(
        default=None, min_length=1, max_length=300, description="Use this title instead."
    )
    force: bool = Field(
        default=False,
        description="Download again even if the same URL is already queued, running or done.",
    )
    cookies: str | None = Field(
        default=None,
        pattern=COOKIE_SET_NAME,
        description="The cookie set to send (see `PUT /api/cookies/{name}`); unset, the set "
        "with a domain that matches the URL's host, if any. An unknown name answers 422.",
    )

    @field_validator("url")
    @classmethod
    def must_be_absolute_http(cls, url: str) -> str:
        return checked_download_url(url)

    @field_validator("title")
    @classmethod
    def title_is_one_line(cls, value: str | None) -> str | None:
        return one_line(value)

    def to_order(self) -> DownloadOrder:
        return DownloadOrder(
            url=self.url,
            format=self.format,
            audio_format=self.chosen_audio_format(),
            subtitle_langs=self.subtitle_langs(),
            title=self.title,
            cookies=self.cookies,
        )


class Subtitle(BaseModel):
    lang: str
    url: str

    @classmethod
    def from_filename(cls, filename: str, local: Callable[[str], str]) -> "Subtitle":
        """`video__<id>.<lang>.vtt` -> its language and where to fetch it."""
        return cls(lang=filename.split(".")[-2], url=local(f"/api/subtitles/{filename}"))


class TaskPublic(BaseModel):
    """A download as clients see it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                    "task_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                    "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
                    "format": None,
                    "title": "A video",
                    "status": "completed",
                    "progress": 100.0,
                    "downloaded_bytes": 1048576,
                    "total_bytes": 1048576,
                    "speed": None,
                    "eta": None,
                    "error": None,
                    "filename": "video__0f8fad5b-d9cb-469f-a165-70867728950e.mp4",
                    "filesize": 1048576,
                    "ext": "mp4",
                    "duration": 212.0,
                    "thumbnail": "/api/thumbnails/0f8fad5b-d9cb-469f-a165-70867728950e",
                    "stream_url": "/api/stream/video__0f8fad5b-d9cb-469f-a165-70867728950e.mp4",
                    "created_at": "2026-11-26T20:40:00Z",
                    "started_at": "2026-11-26T20:40:01Z",
                    "finished_at": "2026-11-26T20:40:09Z",
                    "attempts": 1,
                    "error_kind": None,
                    "playlist_id": None,
                    "playlist_index": None,
                    "audio_only": False,
                    "subtitles": [
                        {
                            "lang": "en",
                            "url": f"/api/subtitles/video__{_EXAMPLE_ID}.en.vtt",
                        }
                    ],
                    "warnings": [],
                    "transcoded": False,
                    "source_url": None,
                    "cookies": None,
                    "subscription_id": None,
                    "site": "youtube.com",
                    "waiting_until": None,
                    "waiting_reason": None,
                    "events_url": f"/api/downloads/{_EXAMPLE_ID}/events",
                }
            ]
        }
    )

    id: str
    task_id: str = Field(description="Same as `id`, kept for clients of the original service.")
    url: str
    format: str | None
    title: str | None
    status: TaskStatus
    progress: float = Field(ge=0, le=100)
    downloaded_bytes: int | None
    total_bytes: int | None
    speed: float | None = Field(description="Bytes per second while downloading.")
    eta: int | None = Field(description="Seconds left while downloading.")
    error: str | None
    filename: str | None
    filesize: int | None
    ext: str | None
    duration: float | None = Field(description="Length of the video in seconds.")
    thumbnail: str | None = Field(
        description="`/api/thumbnails/<id>` when stored locally, else the remote URL, else null."
    )
    stream_url: str | None = Field(description="`/api/stream/<filename>` once completed.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int = Field(description="Tries so far; automatic retries count too.")
    error_kind: ErrorKind | None = Field(description="Why it failed, when it failed.")
    playlist_id: str | None = Field(description="Shared by every task of one playlist.")
    playlist_index: int | None = Field(description="1-based position in the playlist.")
    audio_only: bool
    subtitles: list[Subtitle] = Field(description="Saved subtitle files, as WebVTT.")
    warnings: list[str] = Field(
        description="What was skipped and why (a thumbnail, a subtitle language, ...)."
    )
    transcoded: bool = Field(
        description="Re-encoded to H.264/AAC MP4 because the source had nothing a browser plays."
    )
    source_url: str | None = Field(
        description="The URL as posted, for a task made from a playlist or a multi-video page."
    )
    cookies: str | None = Field(
        description="The name of the cookie set the task uses: the one its request named, "
        "else the one its latest attempt chose by domain; null for none. Never the values."
    )
    subscription_id: str | None = Field(description="The subscription whose check queued it.")
    site: str | None = Field(
        description="The site its downloads count against, for cool-downs and "
        "`OFFLINETUBE_MAX_PER_SITE`: the URL's host (and port), without `www.`; null until a "
        "worker first looks at it."
    )
    waiting_until: datetime | None = Field(
        description="While queued and held back for its site: when it may start at the "
        "earliest; null when it only waits for a download slot, or for a download of its "
        "site to end (`site_busy`)."
    )
    waiting_reason: WaitingReason | None = Field(
        description="Why a queued task is held back: its site is cooling down after a rate "
        "limit (`rate_limited`) or a bot check (`bot_check`), or runs "
        "`OFFLINETUBE_MAX_PER_SITE` downloads already (`site_busy`); null otherwise."
    )
    events_url: str = Field(
        description="Where to follow this task live (Server-Sent Events); signed, like the "
        "media URLs, when keys are required, since a browser `EventSource` cannot send one."
    )

    @classmethod
    def from_task(cls, task: Task, *, sign: Callable[[str], str] | None = None) -> "TaskPublic":
        """`sign` turns a local media path into a signed URL, when keys are required."""
        local = sign or (lambda path: path)
        if task.thumbnail_file:
            thumbnail: str | None = local(f"/api/thumbnails/{task.id}")
        else:
            thumbnail = task.remote_thumbnail
        completed = task.status is TaskStatus.COMPLETED and task.filename
        return cls(
            id=task.id,
            task_id=task.id,
            url=task.url,
            format=task.format,
            title=task.title,
            status=task.status,
            progress=task.progress,
            downloaded_bytes=task.downloaded_bytes,
            total_bytes=task.total_bytes,
            speed=task.speed,
            eta=task.eta,
            error=task.error,
            filename=task.filename,
            filesize=task.filesize,
            ext=task.ext,
            duration=task.duration,
            thumbnail=thumbnail,
            stream_url=local(f"/api/stream/{task.filename}") if completed else None,
            created_at=task.created_at,
            started_at=task.started_at,
            finished_at=task.finished_at,
            attempts=task.attempts,
            error_kind=task.error_kind,
            playlist_id=task.playlist_id,
            playlist_index=task.playlist_index,
            audio_only=task.audio_format is not None,
            subtitles=[Subtitle.from_filename(name, local) for name in task.subtitle_files],
            warnings=list(task.warnings),
            transcoded=task.transcoded,
            source_url=task.source_url,
            cookies=task.cookies,
            subscription_id=task.subscription_id,
            site=task.site,
            waiting_until=task.waiting_until if task.status is TaskStatus.QUEUED else None,
            waiting_reason=task.waiting_reason if task.status is TaskStatus.QUEUED else None,
            events_url=local(f"/api/downloads/{task.id}/events"),
        )


class PlaylistCancelResult(BaseModel):
    playlist_id: str
    cancelled: int = Field(description="How many of its tasks were stopped or taken off the queue.")


class RemovalResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": "0f8fad5b-d9cb-469f-a165-70867728950e", "removed": True}]
        }
    )

    id: str
    removed: bool = True


class FfmpegInfo(BaseModel):
    path: str | None = Field(description="The ffmpeg binary in use, or null when none was found.")
    source: str = Field(description="`path` (found on PATH), `imageio-ffmpeg` (bundled) or `none`.")
    version: str | None


class JsRuntimeInfo(BaseModel):
    name: str = Field(description="yt-dlp's name of the runtime: `deno`.")
    version: str | None = Field(description="What `deno --version` says; null when unreadable.")
    path: str = Field(description="The binary yt-dlp runs.")
    source: str = Field(
        description="`setting` (OFFLINETUBE_JS_RUNTIME), `deno-package` (the deno package's "
        "binary) or `path` (found on PATH)."
    )


class QueueInfo(BaseModel):
    queued: int | None = Field(
        description="Tasks waiting for a download slot; null while the database that counts "
        "them (distributed mode) does not answer."
    )
    running: int | None = Field(
        description="Downloads running now (on this host in embedded mode); null as `queued`."
    )
    max_concurrent: int | None = Field(
        description="Download slots; null in distributed mode, where workers come and go."
    )

    @classmethod
    def from_figures(cls, figures: QueueFigures) -> "QueueInfo":
        return cls(
            queued=figures.queued, running=figures.running, max_concurrent=figures.max_concurrent
        )


class DatabaseHealth(BaseModel):
    ok: bool = Field(
        description="False once the database failed: damaged (until a restart), or refusing "
        "writes (read-only, full; until a write succeeds again)."
    )
    error: str | None = Field(description="SQLite's message for that failure.")


class SiteCooldown(BaseModel):
    site: str = Field(description="The site, as tasks' `site` names it.")
    until: datetime = Field(description="No download of it starts before then.")
    reason: WaitingReason = Field(description="`rate_limited` (HTTP 429) or `bot_check`.")


class Health(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ok",
                    "version": "0.1.0",
                    "yt_dlp_version": "2026.10.26",
                    "ffmpeg": {"path": "/usr/bin/ffmpeg", "source": "path", "version": "5.1.6"},
                    "js_runtime": {
                        "name": "deno",
                        "version": "2.9.8",
                        "path": "/opt/venv/bin/deno",
                        "source": "deno-package",
                    },
                    "queue": {"queued": 2, "running": 3, "max_concurrent": 3},
                    "disk_free_bytes": 85391659008,
                    "database": {"ok": True, "error": None},
                    "cooling_down": [
                        {
                            "site": "youtube.com",
                            "until": "2026-11-26T20:41:00Z",
                            "reason": "rate_limited",
                        }
                    ],
                }
            ]
        }
    )

    status: str = Field(default="ok", description="`ok`, or `degraded` when a part fails.")
    version: str
    yt_dlp_version: str
    ffmpeg: FfmpegInfo
    js_runtime: JsRuntimeInfo | None = Field(
        description="The JavaScript runtime yt-dlp solves sites' challenges with (YouTube's); "
        "null when there is none, and YouTube downloads may fail or offer fewer formats."
    )
    queue: QueueInfo
    disk_free_bytes: int
    database: DatabaseHealth
    cooling_down: list[SiteCooldown] | None = Field(
        description="The sites no download starts for until their cool-down ends (after a "
        "429 or a bot check); null while the database does not answer."
    )


class Liveness(BaseModel):
    status: str = Field(default="ok", description="Always `ok`: the process answers.")


class ReadinessCheck(BaseModel):
    ok: bool
    problem: str | None = Field(description="What to fix when the check fails; else null.")


class Readiness(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "unready",
                    "failing": ["free_space"],
                    "checks": {
                        "store": {"ok": True, "problem": None},
                        "download_process": {"ok": True, "problem": None},
                        "downloads_folder": {"ok": True, "problem": None},
                        "free_space": {
                            "ok": False,
                            "problem": "524288000 bytes free, below the reserve of 1073741824 "
                            "(OFFLINETUBE_MIN_FREE_BYTES)",
                        },
                    },
                }
            ]
        }
    )

    status: str = Field(description="`ready`, or `unready` when a check fails.")
    failing: list[str] = Field(description="The names of the checks that fail.")
    checks: dict[str, ReadinessCheck] = Field(
        description="`store`, `download_process`, `downloads_folder`, `free_space`; an API-only "
        "replica (`serve --workers 0`) checks `store` and `downloads_folder` only."
    )

    @classmethod
    def from_checks(cls, checks: list[Check]) -> "Readiness":
        failing = [check.name for check in checks if not check.ok]
        return cls(
            status="unready" if failing else "ready",
            failing=failing,
            checks={c.name: ReadinessCheck(ok=c.ok, problem=c.problem) for c in checks},
        )


class ErrorMessage(BaseModel):
    """FastAPI's error shape."""

    detail: str


class EventsLink(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"url": "/api/events?exp=1795750200&sig=y-M7Qe..."}]}
    )

    url: str = Field(
        description="`/api/events`, signed when keys are required (valid for "
        "OFFLINETUBE_SIGNED_URL_TTL_SECONDS), for an `EventSource`, which cannot send a key."
    )


class CookieDomain(BaseModel):
    domain: str = Field(
        description="As the file has it: a leading dot (`.example.com`) covers sub-domains."
    )
    cookies: int = Field(description="How many cookies the set holds for this domain.")
    expires_first: datetime | None = Field(
        description="When the first of them expires; null when all end with the session."
    )
    expires_last: datetime | None = Field(description="When the last of them expires.")


class CookieSetPublic(BaseModel):
    """A stored cookie set, without a single value."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "youtube",
                    "domains": [
                        {
                            "domain": ".youtube.com",
                            "cookies": 12,
                            "expires_first": "2026-12-30T10:00:00Z",
                            "expires_last": "2027-06-01T10:00:00Z",
                        }
                    ],
                    "updated_at": "2026-11-30T21:00:00Z",
                }
            ]
        }
    )

    name: str
    domains: list[CookieDomain]
    updated_at: datetime

    @classmethod
    def from_set(cls, cookie_set: CookieSet) -> "CookieSetPublic":
        return cls(
            name=cookie_set.name,
            domains=[CookieDomain(**asdict(domain)) for domain in cookie_set.domains],
            updated_at=cookie_set.updated_at,
        )
