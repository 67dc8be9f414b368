"""SqliteTaskStore: tasks and their events in the SQLite file of the data folder (embedded mode).

One connection, used from one dedicated thread: no call blocks the event loop, and writes never
contend with each other, so event ids are handed out and committed in the same order."""

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from offlinetube_api.errors import QueueFull, StoreUnavailable
from offlinetube_api.models import ErrorKind, Task, TaskStatus
from offlinetube_api.ports import ProcessGroup, StoredEvent, StoredFile, TaskPage
from offlinetube_api.security.private_files import private_file
from offlinetube_api.store.migrations import migrate_sqlite
from offlinetube_api.store.rows import (
    RUNNING_AT_SITE,
    STORED_COLUMNS,
    Dialect,
    column_value,
    stored_changes,
    task_from_json,
    task_from_row,
    task_json,
    task_values,
    where_clause,
)
from offlinetube_api.subscriptions.model import Subscription, SubscriptionEventName
from offlinetube_api.subscriptions.rows import subscription_from_json, subscription_json
from offlinetube_api.title_words import title_words
from offlinetube_api.transitions import (
    SiteBusy,
    Transition,
    TransitionName,
    TransitionRefused,
    allowed_from,
    site_cap,
)

T = TypeVar("T")
logger = logging.getLogger(__name__)

_DEAD = frozenset({TaskStatus.FAILED, TaskStatus.CANCELLED})
_INSERT_TASK = "INSERT INTO tasks ({}) VALUES ({})".format(
    ", ".join(STORED_COLUMNS), ", ".join("?" for _ in STORED_COLUMNS)
)
_WITHOUT_TITLE_WORDS = "title_words IS NULL AND title IS NOT NULL"  # as its partial index says
_INSERT_EVENT = "INSERT INTO task_events (task_id, transition, task, at) VALUES (?, ?, ?, ?)"
_INSERT_SUBSCRIPTION_EVENT = (
    "INSERT INTO task_events (task_id, transition, subscription, at) VALUES (?, ?, ?, ?)"
)


def _nothing_to_announce() -> None:
    """The default `announce`: nobody waits for events."""


def _marks(values: Iterable[object]) -> str:
    return ", ".join("?" for _ in values)


def _sqlite_value(column: str, value: Any) -> Any:
    return column_value(column, value, Dialect.SQLITE)


def moment(at: datetime) -> str:
    """Event times as text that sorts in time order: UTC, always with microseconds."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _save_event(db: sqlite3.Connection, task_id: str, name: str, task: Task | None) -> None:
    when = moment(datetime.now(UTC))
    db.execute(_INSERT_EVENT, (task_id, name, task_json(task) if task else None, when))


def save_subscription_event(
    db: sqlite3.Connection, name: SubscriptionEventName, subscription: Subscription
) -> None:
    """Inside a transaction that made the change (SqliteTaskStore.write_events)."""
    when = moment(datetime.now(UTC))
    values = (subscription.id, name.value, subscription_json(subscription), when)
    db.execute(_INSERT_SUBSCRIPTION_EVENT, values)


def _event_from_row(row: sqlite3.Row) -> StoredEvent:
    if row["subscription"] is not None:
        return StoredEvent(
            id=row["id"],
            task_id=row["task_id"],
            transition=SubscriptionEventName(row["transition"]),
            task=None,
            at=datetime.fromisoformat(row["at"]),
            subscription=subscription_from_json(row["subscription"]),
        )
    return StoredEvent(
        id=row["id"],
        task_id=row["task_id"],
        transition=TransitionName(row["transition"]),
        task=task_from_json(row["task"]) if row["task"] is not None else None,
        at=datetime.fromisoformat(row["at"]),
    )


def in_transaction(db: sqlite3.Connection, work: Callable[[], T]) -> T:
    """`work` between BEGIN IMMEDIATE (the write lock, taken before anything is read) and
    COMMIT; rolled back when it raises."""
    db.execute("BEGIN IMMEDIATE")
    try:
        result = work()
    except BaseException:
        if db.in_transaction:  # some errors (a full disk) have rolled it back already
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return result


def _apply(
    db: sqlite3.Connection, task_id: str, transition: Transition, attempt: int | None
) -> Task | None:
    """See SqliteTaskStore.apply; runs inside a transaction."""
    row = db.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
    if row is None:
        return None
    current = task_from_row(row)
    if cap := site_cap(current, transition):
        _refuse_when_busy(db, task_id, *cap)
    changes = stored_changes(transition.changes(current))
    allowed = [status.value for status in allowed_from(transition)]
    sql = (
        f"UPDATE tasks SET {', '.join(f'{column} = ?' for column in changes)} "
        f"WHERE id = ? AND status IN ({_marks(allowed)})"
    )
    params = [*(_sqlite_value(column, value) for column, value in changes.items())]
    params += [task_id, *allowed]
    if attempt is not None:
        sql, params = f"{sql} AND attempts = ?", [*params, attempt]
    saved = db.execute(f"{sql} RETURNING *", params).fetchone()
    if saved is None:
        raise TransitionRefused(task_id, transition.name, current.status)
    task = task_from_row(saved)
    _save_event(db, task_id, transition.name, task)
    return task


def _refuse_when_busy(db: sqlite3.Connection, task_id: str, site: str, cap: int) -> None:
    running = int(db.execute(RUNNING_AT_SITE.format(mark="?"), (site,)).fetchone()[0])
    if running >= cap:
        raise SiteBusy(task_id, site, running)


def _fill_title_words(db: sqlite3.Connection) -> int:
    """Writes `title_words` where it is missing: the rows of releases before the search
    (migration 0011). How many rows it wrote; 0 at once, through a partial index, after."""
    filled = 0
    missing = f"SELECT seq, title FROM tasks WHERE {_WITHOUT_TITLE_WORDS} LIMIT 10000"
    while rows := db.execute(missing).fetchall():
        in_transaction(db, partial(_write_title_words, db, rows))
        filled += len(rows)
    return filled


def _write_title_words(db: sqlite3.Connection, rows: list[sqlite3.Row]) -> None:
    values = [(title_words(title), seq) for seq, title in rows]
    db.executemany("UPDATE tasks SET title_words = ? WHERE seq = ?", values)


def _match(words: Sequence[str]) -> str:
    """An FTS5 query for titles that have each of `words` (letters and digits only, so
    quoting each is enough to keep FTS5's syntax out)."""
    return " AND ".join(f'"{word}"' for word in words)


def _page_queries(
    status: TaskStatus | None,
    before: int | None,
    words: Sequence[str],
    oldest_first: bool,
    subscription_id: str | None,
) -> tuple[str, list[Any], str, list[Any]]:
    """The SQL of a page (its parameters, then LIMIT and OFFSET) and of its total, with their
    parameters. Each filter is a range of an index walked newest first (or oldest first, the
    same index the other way): (status, seq), or
    the table itself (seq is its rowid), or with `words` the title index, whose rowid is seq;
    so a page by `before` is one seek. CROSS JOIN keeps the title index the outer loop:
    SQLite would otherwise walk the status index and ask the title index once per task. A
    subscription's tasks come from its index (subscription_id, then seq as the rowid)."""
    source, position = "tasks", "seq"
    if words:
        source = "tasks_by_title CROSS JOIN tasks ON tasks.seq = tasks_by_title.rowid"
        position = "tasks_by_title.rowid"
    matching = [("tasks_by_title MATCH ?", _match(words))] if words else []
    of_status = [("status = ?", status.value)] if status else []
    of_subscription = [("subscription_id = ?", subscription_id)] if subscription_id else []
    beyond, order = (">", "ASC") if oldest_first else ("<", "DESC")
    older = [(f"{position} {beyond} ?", before)] if before is not None else []
    where, params = where_clause(matching + of_status + of_subscription + older)
    rows = f"SELECT tasks.* FROM {source} {where} ORDER BY {position} {order} LIMIT ? OFFSET ?"
    counted, count_params = where_clause(matching + of_status + of_subscription)
    # Without words or a subscription, X-Total-Count comes from the kept counts; else it is
    # counted, in the title index alone when only words are asked.
    if not words and not subscription_id:
        total = f"SELECT coalesce(sum(n), 0) FROM task_counts {counted}"
    else:
        counted_in = source if status or subscription_id else "tasks_by_title"
        total = f"SELECT count(*) FROM {counted_in} {counted}"
    return rows, params, total, count_params


def _same_download(db: sqlite3.Connection, task: Task) -> Task | None:
    """The newest task that a POST of `task`'s URL and options is a duplicate of: one with the
    same options that is queued, running, done, or failed only because its file went missing,
    and that downloads the URL itself, was made from it as part of a playlist, or is the same
    video (yt-dlp's extractor and id, where `task` knows them)."""
    alive = [status.value for status in TaskStatus if status not in _DEAD]
    sql = f"""SELECT * FROM tasks
              WHERE ((url = ? AND page_item IS NULL) OR source_url = ?
                     OR (video_id = ? AND extractor = ?))
              AND format IS ? AND audio_format IS ?
              AND (status IN ({_marks(alive)}) OR error_kind = ?)
              ORDER BY seq DESC LIMIT 1"""
    audio = task.audio_format.value if task.audio_format else None
    video = [task.video_id, task.extractor]
    params = [task.url, task.url, *video, task.format, audio, *alive, ErrorKind.FILE_MISSING.value]
    row = db.execute(sql, params).fetchone()
    return task_from_row(row) if row else None


def _add_unless_same(db: sqlite3.Connection, task: Task, max_queued: int) -> Task | None:
    """See SqliteTaskStore.add_unless_same; runs inside a transaction."""
    same = _same_download(db, task)
    if same is not None:
        return same
    _refuse_beyond(db, max_queued)
    db.execute(_INSERT_TASK, task_values(task, Dialect.SQLITE))
    _save_event(db, task.id, TransitionName.QUEUED, task)
    return None


def _refuse_beyond(db: sqlite3.Connection, max_queued: int) -> None:
    """Raises QueueFull when `max_queued` tasks wait; inside the transaction of the insert."""
    counted = "SELECT coalesce(sum(n), 0) FROM task_counts WHERE status = ?"
    if db.execute(counted, (TaskStatus.QUEUED.value,)).fetchone()[0] >= max_queued:
        raise QueueFull(max_queued)


class SqliteTaskStore:
    """SQLite in WAL mode. `announce` is called on the event loop after every commit that may
    have saved events (the in-process EventBus's announce)."""

    def __init__(self, path: Path, *, announce: Callable[[], None] = _nothing_to_announce) -> None:
        self._path = path
        self._announce = announce
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="task-store")
        self._connection: sqlite3.Connection | None = None
        self._damage: str | None = None  # the file is malformed: stays until a restart
        self._trouble: str | None = None  # read-only, full, locked: until a write succeeds

    @property
    def failure(self) -> str | None:
        return self._damage or self._trouble

    async def _run(self, call: Callable[[sqlite3.Connection], T]) -> T:
        """Runs `call` on the store's thread. A database that fails (damaged, read-only,
        full) is remembered for the health route and answered as StoreUnavailable, a 503,
        rather than a bare 500."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, lambda: call(self._connect()))
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
            raise  # the caller's mistake, not the database's
        except sqlite3.OperationalError as exc:
            self._trouble = str(exc)
            raise StoreUnavailable(str(exc)) from exc
        except sqlite3.DatabaseError as exc:
            self._damage = str(exc)
            raise StoreUnavailable(str(exc)) from exc

    async def _write(self, call: Callable[[sqlite3.Connection], T]) -> T:
        result = await self._run(call)
        self._trouble = None
        return result

    async def _write_events(self, call: Callable[[sqlite3.Connection], T]) -> T:
        """Like _write, for a transaction that may have saved events: wakes their readers."""
        result = await self._write(call)
        self._announce()
        return result

    async def run(self, call: Callable[[sqlite3.Connection], T]) -> T:
        """Runs `call` on the store's connection and thread, for the tables other parts keep
        in this database (API keys, the webhook outbox): one way to reach the file, and their
        writes take their turn with the store's. Raises StoreUnavailable like every call."""
        return await self._run(call)

    async def write_events(self, call: Callable[[sqlite3.Connection], T]) -> T:
        """Like `run`, for a write that saves events of its own (save_subscription_event):
        their readers are woken after it."""
        return await self._write_events(call)

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            private_file(self._path)  # else SQLite makes it with the umask's mode, often 0644
            connection = sqlite3.connect(self._path, isolation_level=None)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA busy_timeout=5000")
            migrate_sqlite(connection)
            if filled := _fill_title_words(connection):
                logger.info("filled the search words of %d task titles in %s", filled, self._path)
            self._connection = connection
        return self._connection

    async def open(self) -> None:
        await self._run(lambda _: None)

    async def add(self, task: Task, *, max_queued: int | None = None) -> None:
        """See ports.TaskStore.add; BEGIN IMMEDIATE holds the write lock from count to insert."""
        first = TransitionName.IMPORTED if task.status.is_final else TransitionName.QUEUED
        values = task_values(task, Dialect.SQLITE)

        def insert(db: sqlite3.Connection) -> None:
            if max_queued is not None:
                _refuse_beyond(db, max_queued)
            db.execute(_INSERT_TASK, values)
            _save_event(db, task.id, first, task)

        await self._write_events(lambda db: in_transaction(db, lambda: insert(db)))

    async def add_unless_same(self, task: Task, *, max_queued: int) -> Task | None:
        """See ports.TaskStore.add_unless_same. BEGIN IMMEDIATE takes the write lock before
        the look, so no other write, of this process or another, comes between."""
        return await self._write_events(
            lambda db: in_transaction(db, lambda: _add_unless_same(db, task, max_queued))
        )

    async def apply(
        self, task_id: str, transition: Transition, *, attempt: int | None = None
    ) -> Task | None:
        """Saves `transition` and its event in one transaction; the task as it left it, or
        None when it is gone. Raises TransitionRefused when its status does not allow the
        transition, or when `attempt` is given and is not its `attempts` before the change."""
        return await self._write_events(
            lambda db: in_transaction(db, lambda: _apply(db, task_id, transition, attempt))
        )

    async def note_process(self, task_id: str, group: ProcessGroup | None) -> None:
        pgid, started = group if group else (None, None)
        sql = "UPDATE tasks SET process_group = ?, process_started = ? WHERE id = ?"
        await self._write(lambda db: db.execute(sql, (pgid, started, task_id)))

    async def remove(self, task_id: str) -> bool:
        def delete(db: sqlite3.Connection) -> bool:
            gone = db.execute("DELETE FROM tasks WHERE id = ? RETURNING id", (task_id,)).fetchone()
            if gone:
                _save_event(db, task_id, TransitionName.REMOVED, None)
            return gone is not None

        return await self._write_events(lambda db: in_transaction(db, lambda: delete(db)))

    async def get(self, task_id: str) -> Task | None:
        def query(db: sqlite3.Connection) -> Task | None:
            row = db.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
            return task_from_row(row) if row else None

        return await self._run(query)

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
        """See ports.TaskStore.page and _page_queries."""
        queries = _page_queries(status, before, words, oldest_first, subscription_id)
        rows_sql, params, total_sql, count_params = queries

        def query(db: sqlite3.Connection) -> TaskPage:
            # One row more than the page tells whether another page follows.
            rows = db.execute(rows_sql, [*params, limit + 1, offset]).fetchall()
            total = db.execute(total_sql, count_params).fetchone()[0]
            following = rows[limit - 1]["seq"] if len(rows) > limit else None
            return TaskPage([task_from_row(row) for row in rows[:limit]], total, following)

        return await self._run(query)

    async def count(self, statuses: Iterable[TaskStatus]) -> int:
        wanted = [status.value for status in statuses]
        sql = f"SELECT coalesce(sum(n), 0) FROM task_counts WHERE status IN ({_marks(wanted)})"
        return await self._run(lambda db: int(db.execute(sql, wanted).fetchone()[0]))

    async def with_status(self, statuses: Iterable[TaskStatus]) -> list[Task]:
        wanted = [status.value for status in statuses]
        sql = f"SELECT * FROM tasks WHERE status IN ({_marks(wanted)}) ORDER BY seq"
        return await self._run(lambda db: [task_from_row(row) for row in db.execute(sql, wanted)])

    async def in_playlist(self, playlist_id: str) -> list[Task]:
        sql = "SELECT * FROM tasks WHERE playlist_id = ? ORDER BY playlist_index"
        return await self._run(
            lambda db: [task_from_row(row) for row in db.execute(sql, (playlist_id,))]
        )

    async def downloaded_files(self) -> list[StoredFile]:
        sql = "SELECT id, filename, status FROM tasks WHERE status = ? OR error_kind = ?"
        params = (TaskStatus.COMPLETED.value, ErrorKind.FILE_MISSING.value)

        def query(db: sqlite3.Connection) -> list[StoredFile]:
            return [
                StoredFile(row["id"], row["filename"], TaskStatus(row["status"]))
                for row in db.execute(sql, params)
            ]

        return await self._run(query)

    async def events_after(
        self, after_id: int, *, task_id: str | None = None, limit: int = 1000
    ) -> list[StoredEvent]:
        of_task, params = ("AND task_id = ?", [task_id]) if task_id else ("", [])
        sql = f"SELECT * FROM task_events WHERE id > ? {of_task} ORDER BY id LIMIT ?"
        return await self._run(
            lambda db: [_event_from_row(row) for row in db.execute(sql, [after_id, *params, limit])]
        )

    async def event_bounds(self) -> tuple[int, int]:
        # sqlite_sequence remembers the newest id ever handed out (AUTOINCREMENT), also after
        # every event was pruned.
        sql = """SELECT (SELECT min(id) FROM task_events),
                        (SELECT seq FROM sqlite_sequence WHERE name = 'task_events')"""

        def query(db: sqlite3.Connection) -> tuple[int, int]:
            oldest, newest = db.execute(sql).fetchone()
            if newest is None:
                return 0, 0
            return (oldest if oldest is not None else newest + 1), newest

        return await self._run(query)

    async def prune_events(self, *, keep: int, max_age: timedelta) -> int:
        sql = """DELETE FROM task_events WHERE at < ? OR id <= coalesce(
                     (SELECT id FROM task_events ORDER BY id DESC LIMIT 1 OFFSET ?), 0)"""
        cutoff = moment(datetime.now(UTC) - max_age)
        cursor = await self._write(lambda db: db.execute(sql, (cutoff, keep)))
        return cursor.rowcount

    async def close(self) -> None:
        def close_connection(_: sqlite3.Connection) -> None:
            if self._connection is not None:
                try:
                    # Everything into the main file, so a copy of that file alone is complete.
                    self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.DatabaseError as exc:
                    logger.warning("could not checkpoint %s at close: %s", self._path, exc)
                finally:
                    self._connection.close()
                    self._connection = None

        if self._connection is not None:
            await self._run(close_connection)
        self._executor.shutdown(wait=True)
