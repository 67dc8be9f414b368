"""The seams of the core, as Protocols speaking domain types only: the store of tasks and their
events, the job queue that runs downloads, and the event bus that wakes event readers.

Two sets of implementations exist, chosen by `OFFLINETUBE_DATABASE_URL`:
- embedded (unset): SQLite in the data folder, an in-process queue, an in-process bus;
- distributed (`postgresql://...`): PostgreSQL, procrastinate's queue, LISTEN/NOTIFY.

Nothing here knows HTTP, JSON schemas, SSE or URL signing: the routes present what these give.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from offlinetube_api.models import DownloadOrder, Task, TaskStatus
from offlinetube_api.subscriptions.model import Subscription, SubscriptionEventName
from offlinetube_api.transitions import Transition, TransitionName

# The PostgreSQL channel a saved event is announced on (NOTIFY, delivered at commit).
EVENTS_CHANNEL = "offlinetube_task_events"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One saved change. Ids increase in commit order, across restarts and replicas, so a
    reader that has seen id N has seen every event up to N. `task` is the task as the change
    left it; None for a removal. A subscription's event has its name as `transition`, its id
    as `task_id` (never a task's), no `task`, and the subscription as the change left it (as
    it was, for a deletion) as `subscription`."""

    id: int
    task_id: str
    transition: TransitionName | SubscriptionEventName
    task: Task | None
    at: datetime
    subscription: Subscription | None = None

    @property
    def final(self) -> bool:
        """Nothing follows for this task: it reached a final state or was removed."""
        return self.task is None or self.task.status.is_final


@dataclass(frozen=True, slots=True)
class TaskPage:
    """One page of the library, newest first (or oldest first, when asked). `total` is how
    many tasks match in all (read from kept counts, not a scan). `following` is the position
    to pass as `before` for the page that follows this one, None when no task follows:
    positions are the store's own order (never reused, decreasing from newest to oldest), so
    a page asked by position costs the same however deep it is, and tasks added meanwhile
    never shift it."""

    tasks: list[Task]
    total: int
    following: int | None


class StoredFile(NamedTuple):
    task_id: str
    filename: str | None
    status: TaskStatus


class ProcessGroup(NamedTuple):
    """A download process group: its id and when its leader started (clock ticks after boot,
    /proc/<pid>/stat field 22), so a reused pgid is never mistaken for it."""

    pgid: int
    started: int


class TaskStore(Protocol):
    """Tasks, their events, and the counts the listing needs. Raises StoreUnavailable (a 503)
    when the database fails; `failure` says why until a write succeeds again."""

    @property
    def failure(self) -> str | None: ...

    async def open(self) -> None:
        """Connects and brings the schema up to date (the migrations)."""
        ...

    async def close(self) -> None: ...

    async def add(self, task: Task, *, max_queued: int | None = None) -> None:
        """Inserts `task` with its first event: `queued`, or `imported` for a finished one.
        With `max_queued`, raises QueueFull when that many tasks already wait, counted in the
        same transaction as the insert, so adds at once never pass the cap together."""
        ...

    async def apply(
        self, task_id: str, transition: Transition, *, attempt: int | None = None
    ) -> Task | None:
        """Saves `transition` and its event in one transaction and returns the task as it left
        it; None when the task is gone. Raises TransitionRefused when the task's status does
        not allow it, or when `attempt` is given and is no longer the task's current attempt
        (a worker that lost its task to another must not write over it)."""
        ...

    async def note_process(self, task_id: str, group: ProcessGroup | None) -> None:
        """Remembers the download process group of the current attempt; no event."""
        ...

    async def remove(self, task_id: str) -> bool:
        """Deletes the task, with a `removed` event; False when it was already gone."""
        ...

    async def get(self, task_id: str) -> Task | None: ...

    async def page(
        self,
        *,
        status: TaskStatus | None,
        limit: int,
        offset: int = 0,
        before: int | None = None,
        words: Sequence[str] = (),
        oldest_first: bool = False,
        subscription_id: str | None = None,
    ) -> TaskPage:
        """At most `limit` tasks of `status` (any when None), newest first: after skipping
        `offset` of them, and only those older than the position `before` (a `following` of
        an earlier page) when it is given. With `words` (as title_words.words() gives them),
        only tasks whose title has each of them as a word; with `subscription_id`, only the
        tasks that subscription's checks queued; `total` then counts those. With
        `oldest_first`, the same the other way: oldest first, and `before` (a `following` of
        an earlier such page) takes only the tasks newer than it."""
        ...

    async def count(self, statuses: Iterable[TaskStatus]) -> int:
        """How many tasks have one of `statuses`, from the kept counts."""
        ...

    async def with_status(self, statuses: Iterable[TaskStatus]) -> list[Task]:
        """Oldest first."""
        ...

    async def add_unless_same(self, task: Task, *, max_queued: int) -> Task | None:
        """Inserts `task`, a queued task a POST made, with its `queued` event, and returns
        None; or, when a task of the same download exists, inserts nothing and returns the
        newest such task. Of the same download: the same `format` and `audio_format`, queued,
        running, done, or failed only because its file went missing, and downloading `url`
        itself, made from it as part of a playlist, or the same video by yt-dlp's extractor
        and video id (where `task` has them: a subscription's tasks). Raises QueueFull when
        `max_queued` tasks already wait (a duplicate is returned even then). The database
        decides: of POSTs of one download at once, on any replica, one inserts and the others
        get its task."""
        ...

    async def in_playlist(self, playlist_id: str) -> list[Task]:
        """In playlist order."""
        ...

    async def downloaded_files(self) -> list[StoredFile]:
        """Every task that is completed, or failed because its file went missing."""
        ...

    async def events_after(
        self, after_id: int, *, task_id: str | None = None, limit: int = 1000
    ) -> list[StoredEvent]:
        """Events with an id above `after_id`, oldest first, at most `limit`."""
        ...

    async def event_bounds(self) -> tuple[int, int]:
        """The oldest kept event id and the newest; (0, 0) when none was ever saved, and
        (newest + 1, newest) when all were pruned."""
        ...

    async def prune_events(self, *, keep: int, max_age: timedelta) -> int:
        """Deletes events beyond the newest `keep` or older than `max_age`; how many went."""
        ...


class EventBus(Protocol):
    """Wakes event readers when new events may have been saved. It carries no data: readers
    read the events from the store, so nothing is lost when a wake-up is."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def announce(self) -> None:
        """Called in this process after a commit that saved events (a no-op where the
        database announces them itself)."""
        ...

    @property
    def announcements(self) -> int:
        """How many announcements this bus has had. A reader notes it before it reads the store
        and passes it to `wait`, so an announcement between its read and its wait is not
        slept through."""
        ...

    async def wait(self, timeout_s: float, *, seen: int | None = None) -> None:
        """Returns after the next announcement (at once when there were some since `seen`, a
        value of `announcements`), or after `timeout_s` seconds."""
        ...


@dataclass(frozen=True, slots=True)
class QueueFigures:
    queued: int
    running: int
    max_concurrent: int | None  # None: the workers are elsewhere, their number unknown here


class JobQueue(Protocol):
    """Runs each queued task's download on some worker, one run at a time per task. Starting
    one is particular to each (the embedded queue starts its own workers with the runner)."""

    async def close(self) -> None:
        """Stops taking work; running downloads on this host go back to the queue."""
        ...

    async def enqueue(self, task_id: str, *, delay_s: float = 0.0) -> None:
        """The task (already `queued` in the store) runs once a worker is free, not before
        `delay_s` seconds from now."""
        ...

    async def withdraw(self, task_id: str) -> bool:
        """Takes a task that waits out of the queue; False when it is not waiting."""
        ...

    async def abort(self, task_id: str) -> None:
        """Has the worker running the task, on whatever host, kill its download (within 2
        seconds); the worker then settles the task as cancelled, or writes nothing when the
        task was removed. Returns once that run has ended, or after a few seconds when the
        worker does not answer (a lost host: its run is fenced, see worker/runner.py)."""
        ...

    async def figures(self) -> QueueFigures: ...


@dataclass(frozen=True, slots=True)
class Submission:
    task: Task
    # False: the same download already existed and is returned as it is. True: a new task, or
    # an existing one queued again under its id because its file was gone.
    queued: bool


class Downloads(Protocol):
    """What the API asks of the download service, the same in both modes."""

    async def submit(self, order: DownloadOrder, *, force: bool = False) -> Submission: ...

    async def cancel(self, task_id: str) -> Task: ...

    async def retry(self, task_id: str) -> Task: ...

    async def cancel_playlist(self, playlist_id: str) -> int: ...

    async def remove(self, task_id: str) -> None: ...

    async def queue_figures(self) -> QueueFigures: ...
