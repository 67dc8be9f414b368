"""Typed state changes of a task. Every change is one named transition, checked against
`ALLOWED` and saved by the store together with the event it makes, in one transaction; there
is no other way to change a task (bookkeeping that nobody watches aside: the process group).

    queued ─started─> downloading ─processing─> processing ─completed─> completed
      │                  │  ▲ progress, described     │                    │
      │                  └──────────┬─────────────────┘                    │ failed (file_missing)
      │                             ├─failed──> failed ◄────────────────────┘
      └─cancelled─────────────────-─┴─cancelled─> cancelled
    requeued: downloading/processing (shutdown, interrupted, retry after a transient failure,
    a playlist expanded) and failed/cancelled/completed (retried by a client, file missing)
    go back to queued.
    waiting: a queued task stays queued, held back for its site (worker/site_gate.py).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from offlinetube_api.models import ErrorKind, Task, TaskStatus, WaitingReason


class TransitionName(StrEnum):
    """The names events carry (`task_events.transition`), so a reader knows what happened."""

    QUEUED = "queued"
    STARTED = "started"
    DESCRIBED = "described"
    PROGRESS = "progress"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REQUEUED = "requeued"
    WAITING = "waiting"  # held back for its site: a cool-down, or its downloads at the cap
    IMPORTED = "imported"  # a finished task restored from its sidecar (`rebuild`)
    REMOVED = "removed"  # the task and its files are gone


class TransitionRefused(Exception):
    """The task's status does not allow the transition (a stale worker, a race lost)."""

    def __init__(self, task_id: str, name: TransitionName, status: TaskStatus) -> None:
        super().__init__(f"task {task_id}: {name} is not allowed from {status}")
        self.task_id = task_id
        self.status = status


class SiteBusy(Exception):
    """A start refused because its site runs OFFLINETUBE_MAX_PER_SITE downloads already."""

    def __init__(self, task_id: str, site: str, running: int) -> None:
        super().__init__(f"task {task_id}: {site} runs {running} downloads already")
        self.site = site
        self.running = running


_ACTIVE = frozenset({TaskStatus.DOWNLOADING, TaskStatus.PROCESSING})
_UNFINISHED = _ACTIVE | {TaskStatus.QUEUED}

# From which statuses each transition may be taken (a requeue's reason narrows it, see
# allowed_from); the store checks it in the same statement that saves the change, so two
# writers cannot both win.
ALLOWED: Mapping[TransitionName, frozenset[TaskStatus]] = {
    TransitionName.STARTED: frozenset({TaskStatus.QUEUED}),
    TransitionName.WAITING: frozenset({TaskStatus.QUEUED}),
    TransitionName.DESCRIBED: _ACTIVE,
    TransitionName.PROGRESS: _ACTIVE,
    TransitionName.PROCESSING: _ACTIVE,
    # From failed: a file that went missing is back (see worker/existing.py).
    TransitionName.COMPLETED: _ACTIVE | {TaskStatus.FAILED},
    # From completed: its file went missing. From queued: refused before it started.
    TransitionName.FAILED: _UNFINISHED | {TaskStatus.COMPLETED},
    TransitionName.CANCELLED: _UNFINISHED,
    TransitionName.REQUEUED: _ACTIVE
    | {TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.COMPLETED},
}


def now() -> datetime:
    return datetime.now(UTC)


_FRESH_ATTEMPT: dict[str, Any] = {
    "progress": 0.0,
    "downloaded_bytes": None,
    "total_bytes": None,
    "speed": None,
    "eta": None,
    "error": None,
    "error_kind": None,
    "finished_at": None,
    "waiting_until": None,
    "waiting_reason": None,
}


@dataclass(frozen=True, slots=True)
class Started:
    """A worker took the task off the queue: attempt number `attempt` begins, with the
    cookie set named `cookies` (None: none), as a download of `site` (worker/sites.py). With
    `max_per_site`, the store refuses it (SiteBusy) while that many downloads of `site` run,
    counted in the statement that saves it."""

    attempt: int
    started_at: datetime = field(default_factory=now)
    cookies: str | None = None
    site: str | None = None
    max_per_site: int | None = None
    name = TransitionName.STARTED

    def changes(self, task: Task) -> dict[str, Any]:
        return {
            **_FRESH_ATTEMPT,
            "status": TaskStatus.DOWNLOADING,
            "attempts": self.attempt,
            "started_at": self.started_at,
            "cookies": self.cookies,
            "site": self.site or task.site,
        }


@dataclass(frozen=True, slots=True)
class Waiting:
    """The task stays queued, held back for `site`: not before `until` (None: the gate looks
    again soon), for `reason`."""

    site: str
    reason: WaitingReason
    until: datetime | None
    name = TransitionName.WAITING

    def changes(self, task: Task) -> dict[str, Any]:
        return {"site": self.site, "waiting_until": self.until, "waiting_reason": self.reason}


@dataclass(frozen=True, slots=True)
class Described:
    """yt-dlp read the page: what the video is. A title the client gave is kept."""

    title: str | None
    duration: float | None
    remote_thumbnail: str | None
    name = TransitionName.DESCRIBED

    def changes(self, task: Task) -> dict[str, Any]:
        return {
            "title": task.title or self.title,
            "duration": self.duration,
            "remote_thumbnail": self.remote_thumbnail,
        }


@dataclass(frozen=True, slots=True)
class ProgressMade:
    """Bytes so far (and the total when known, in bytes), speed in bytes/s, eta in seconds."""

    downloaded_bytes: int | None
    total_bytes: int | None
    speed: float | None
    eta: int | None
    name = TransitionName.PROGRESS

    def changes(self, task: Task) -> dict[str, Any]:
        return {
            "status": TaskStatus.DOWNLOADING,
            "downloaded_bytes": self.downloaded_bytes,
            "total_bytes": self.total_bytes,
            "speed": self.speed,
            "eta": self.eta,
            "progress": percent(self.downloaded_bytes, self.total_bytes),
        }


@dataclass(frozen=True, slots=True)
class Processing:
    """Downloaded; ffmpeg merges, converts or re-encodes."""

    name = TransitionName.PROCESSING

    def changes(self, task: Task) -> dict[str, Any]:
        return {"status": TaskStatus.PROCESSING, "speed": None, "eta": None}


@dataclass(frozen=True, slots=True)
class Completed:
    """The video (and what goes with it) is in its final place. Sizes in bytes, duration in
    seconds. `warnings` add to those the task had, each said once."""

    filename: str | None
    ext: str | None
    filesize: int | None
    thumbnail_file: str | None
    subtitle_files: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    transcoded: bool = False
    duration: float | None = None
    finished_at: datetime = field(default_factory=now)
    name = TransitionName.COMPLETED

    @classmethod
    def restored(cls, task: Task) -> "Completed":
        """A completed task whose file went missing and came back: as it was."""
        return cls(
            filename=task.filename,
            ext=task.ext,
            filesize=task.filesize,
            thumbnail_file=task.thumbnail_file,
            subtitle_files=task.subtitle_files,
            transcoded=task.transcoded,
            duration=task.duration,
            finished_at=task.finished_at or now(),
        )

    def changes(self, task: Task) -> dict[str, Any]:
        return {
            "status": TaskStatus.COMPLETED,
            "progress": 100.0,
            "filename": self.filename,
            "ext": self.ext,
            "filesize": self.filesize,
            "downloaded_bytes": self.filesize,
            "total_bytes": self.filesize,
            "thumbnail_file": self.thumbnail_file,
            "subtitle_files": self.subtitle_files,
            "warnings": tuple(dict.fromkeys(task.warnings + self.warnings)),
            "transcoded": self.transcoded,
            "speed": None,
            "eta": None,
            "error": None,
            "error_kind": None,
            "finished_at": self.finished_at,
            "duration": self.duration or task.duration,
        }


@dataclass(frozen=True, slots=True)
class Failed:
    """Final: `error` for a person to read, `kind` for a program; `warnings` add to the
    task's."""

    error: str
    kind: ErrorKind
    warnings: tuple[str, ...] = ()
    name = TransitionName.FAILED

    def changes(self, task: Task) -> dict[str, Any]:
        return {
            "status": TaskStatus.FAILED,
            "error": self.error,
            "error_kind": self.kind,
            "speed": None,
            "eta": None,
            "warnings": tuple(dict.fromkeys(task.warnings + self.warnings)),
            "finished_at": now() if self.kind is not ErrorKind.FILE_MISSING else task.finished_at,
        }


@dataclass(frozen=True, slots=True)
class Cancelled:
    name = TransitionName.CANCELLED

    def changes(self, task: Task) -> dict[str, Any]:
        return {
            "status": TaskStatus.CANCELLED,
            "speed": None,
            "eta": None,
            "error": "Cancelled",
            "error_kind": ErrorKind.CANCELLED,
            "finished_at": now(),
        }


class RequeueReason(StrEnum):
    SHUTDOWN = "shutdown"  # its worker stopped; the next one resumes it
    INTERRUPTED = "interrupted"  # its worker died (a crash, a lost host)
    RETRY = "retry"  # a transient failure, tried again after a back-off
    RETRIED = "retried"  # a client asked for it again
    FILE_MISSING = "file_missing"  # posted again after its file was deleted


@dataclass(frozen=True, slots=True)
class PlaylistPlace:
    """Where a task sits in the playlist that `source_url`, as posted, expanded into."""

    playlist_id: str
    playlist_index: int
    source_url: str
    page_item: int | None


@dataclass(frozen=True, slots=True)
class Requeued:
    """Back to the queue. A scheduled retry keeps the error that caused it, for clients to
    show; every other reason starts clean. `attempts` resets for a client's retry."""

    reason: RequeueReason
    error: str | None = None
    error_kind: ErrorKind | None = None
    # Attempts made so far, when the ended run must not count as one (a shutdown).
    attempts: int | None = None
    name = TransitionName.REQUEUED

    def changes(self, task: Task) -> dict[str, Any]:
        changes: dict[str, Any] = {
            **_FRESH_ATTEMPT,
            "status": TaskStatus.QUEUED,
            "started_at": None,
            "error": self.error,
            "error_kind": self.error_kind,
        }
        if self.attempts is not None:
            changes["attempts"] = self.attempts
        if self.reason in (RequeueReason.RETRIED, RequeueReason.FILE_MISSING):
            changes["attempts"] = 0
        if self.reason is RequeueReason.FILE_MISSING:
            changes.update(filename=None, filesize=None, ext=None)
        return changes


@dataclass(frozen=True, slots=True)
class Expanded:
    """The posted URL was a playlist: the task becomes its first video, queued again."""

    url: str
    title: str | None
    place: PlaylistPlace
    warnings: tuple[str, ...] = ()
    name = TransitionName.REQUEUED

    def changes(self, task: Task) -> dict[str, Any]:
        return {
            **_FRESH_ATTEMPT,
            "status": TaskStatus.QUEUED,
            "started_at": None,
            "url": self.url,
            "title": task.title or self.title,
            "playlist_id": self.place.playlist_id,
            "playlist_index": self.place.playlist_index,
            "source_url": self.place.source_url,
            "page_item": self.place.page_item,
            "warnings": tuple(dict.fromkeys(task.warnings + self.warnings)),
        }


Transition = (
    Started
    | Waiting
    | Described
    | ProgressMade
    | Processing
    | Completed
    | Failed
    | Cancelled
    | Requeued
    | Expanded
)


# A requeue's reason narrows ALLOWED: a client's retry, or a POST again after a deleted file,
# must find the task as it saw it, never put a run that started meanwhile back in the queue.
_REQUEUED_FROM: Mapping[RequeueReason, frozenset[TaskStatus]] = {
    RequeueReason.SHUTDOWN: _ACTIVE,
    RequeueReason.INTERRUPTED: _ACTIVE,
    RequeueReason.RETRY: _ACTIVE,
    RequeueReason.RETRIED: frozenset({TaskStatus.FAILED, TaskStatus.CANCELLED}),
    RequeueReason.FILE_MISSING: frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED}),
}


def allowed_from(transition: Transition) -> frozenset[TaskStatus]:
    """The statuses `transition` may be taken from: ALLOWED for its name, narrowed by the
    reason of a Requeued. The store checks these in the statement that saves the change."""
    if isinstance(transition, Requeued):
        return _REQUEUED_FROM[transition.reason]
    return ALLOWED[transition.name]


def site_cap(task: Task, transition: Transition) -> tuple[str, int] | None:
    """The site and its cap of running downloads that `transition` of `task` must respect
    (a start with `max_per_site`); None when there is none to check, or when the task's status
    refuses the transition anyway."""
    if not isinstance(transition, Started) or not transition.site or not transition.max_per_site:
        return None
    if task.status not in allowed_from(transition):
        return None
    return transition.site, transition.max_per_site


def check(task: Task, transition: Transition) -> None:
    """Raises TransitionRefused when `task`'s status does not allow `transition`."""
    if task.status not in allowed_from(transition):
        raise TransitionRefused(task.id, transition.name, task.status)


def percent(done: int | None, total: int | None) -> float:
    if not done or not total:
        return 0.0
    return round(min(100.0, 100.0 * done / total), 1)
