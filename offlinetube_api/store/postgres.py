"""PostgresTaskStore: tasks and their events in PostgreSQL (distributed mode), shared by every
API replica and worker. psycopg 3, async, through a pool of connections in autocommit mode;
every write that saves an event is one explicit transaction.

Event order: identity values are handed out at insert time, not at commit, so two writers could
commit ids 11 and then 10, and a reader that saw 11 would never look back for 10. Every
transaction that saves events therefore takes EVENT_ORDER_LOCK (a transaction-level advisory
lock) before its first write: one such writer at a time, so ids become visible in increasing
order. The same lock orders the writes to `task_counts`, so writers never deadlock on them.
Locks are taken in one order everywhere: the task's row (FOR UPDATE) or a duplicate key's lock
(add_unless_same), then EVENT_ORDER_LOCK."""

import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.rows import DictRow, dict_row
from psycopg.types.string import TextLoader
from psycopg_pool import AsyncConnectionPool

from offlinetube_api.config import redacted
from offlinetube_api.errors import QueueFull, StoreUnavailable
from offlinetube_api.models import ErrorKind, Task, TaskStatus
from offlinetube_api.ports import EVENTS_CHANNEL, ProcessGroup, StoredEvent, StoredFile
from offlinetube_api.store.migrations import migrate_postgresql
from offlinetube_api.store.rows import (
    COLUMNS,
    Dialect,
    column_value,
    task_from_json,
    task_from_row,
    task_json,
    task_values,
)
from offlinetube_api.transitions import (
    Transition,
    TransitionName,
    TransitionRefused,
    allowed_from,
)

T = TypeVar("T")
Connection = AsyncConnection[DictRow]
logger = logging.getLogger(__name__)

EVENT_ORDER_LOCK = 0x6F74_6576_656E_7473  # "otevents"
# How long the command line waits for the database before it calls its address wrong, in
# seconds per address (libpq's connect_timeout): a host that drops packets would otherwise
# hold the start for minutes.
PROBE_TIMEOUT_S = 5
_DEAD = [TaskStatus.FAILED.value, TaskStatus.CANCELLED.value]

_INSERT_TASK = sql.SQL("INSERT INTO tasks ({}) VALUES ({})").format(
    sql.SQL(", ").join(map(sql.Identifier, COLUMNS)),
    sql.SQL(", ").join(sql.Placeholder() for _ in COLUMNS),
)
_INSERT_EVENT = "INSERT INTO task_events (task_id, transition, task, at) VALUES (%s, %s, %s, %s)"
_NOTIFY = sql.SQL("NOTIFY {}").format(sql.Identifier(EVENTS_CHANNEL))
# pg_advisory_xact_lock(class, hashtext(key)): one look-then-insert per duplicate key at a time.
_SAME_DOWNLOAD_LOCK_CLASS = 0x6F74_6475  # "otdu"
_SAME_DOWNLOAD = """
    SELECT * FROM tasks
    WHERE ((url = %(url)s AND page_item IS NULL) OR source_url = %(url)s)
    AND format IS NOT DISTINCT FROM %(format)s AND audio_format IS NOT DISTINCT FROM %(audio)s
    AND (status <> ALL(%(dead)s) OR error_kind = %(missing)s)
    ORDER BY seq DESC LIMIT 1"""
_COUNT_QUEUED = "SELECT coalesce(sum(n), 0) AS n FROM task_counts WHERE status = %s"
_EVENT_BOUNDS = """
    SELECT min(id) AS oldest, max(id) AS newest,
           pg_sequence_last_value(pg_get_serial_sequence('task_events', 'id')) AS handed_out
    FROM task_events"""
_PRUNE = """
    DELETE FROM task_events WHERE at < %s OR id <= coalesce(
        (SELECT id FROM task_events ORDER BY id DESC LIMIT 1 OFFSET %s), 0)"""


def _one_line(exc: psycopg.Error) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class DatabaseUnreachable(Exception):
    """No connection could be made to the database; `str()` is why, in one line
    ("connection refused", 'database "x" does not exist', ...)."""


async def check_reachable(url: str, *, timeout_s: int = PROBE_TIMEOUT_S) -> None:
    """Connects once to the database at `url`, waiting at most `timeout_s` seconds per
    address, and disconnects. Raises DatabaseUnreachable."""
    try:
        connection = await psycopg.AsyncConnection.connect(url, connect_timeout=timeout_s)
    except (psycopg.OperationalError, psycopg.ProgrammingError) as exc:  # the latter: a bad URL
        # A malformed URL is quoted whole in the reason.
        reason = _connect_failure(exc).replace(url, redacted(url))
        raise DatabaseUnreachable(reason) from exc
    await connection.close()


def _connect_failure(exc: psycopg.Error) -> str:
    """libpq's reason without the attempt it names or its hint: 'connection to server at
    "127.0.0.1", port 5433 failed: Connection refused\n\tIs the server running ...?' gives
    'connection refused'."""
    first = (str(exc).splitlines() or [type(exc).__name__])[0]
    reason = first.rpartition(" failed: ")[2].removeprefix("FATAL:").strip()
    return reason[:1].lower() + reason[1:]


async def _read_jsonb_as_text(connection: Connection) -> None:
    """jsonb values arrive as their text, which rows.py decodes: psycopg's own jsonb loader
    is the slowest part of reading a page (about 20 µs per value, three lists per task)."""
    connection.adapters.register_loader("jsonb", TextLoader)


async def _fetch_task(connection: Connection, query: Any, params: Any) -> Task | None:
    row = await (await connection.execute(query, params)).fetchone()
    return task_from_row(row) if row else None


async def _fetch_tasks(connection: Connection, query: Any, params: Any) -> list[Task]:
    rows = await (await connection.execute(query, params)).fetchall()
    return [task_from_row(row) for row in rows]


async def _save_event(
    connection: Connection, task_id: str, name: TransitionName, task: Task | None
) -> None:
    """Inside a transaction that holds EVENT_ORDER_LOCK. NOTIFY is delivered at commit."""
    values = (task_id, name.value, task_json(task) if task else None, datetime.now(UTC))
    await connection.execute(_INSERT_EVENT, values)
    await connection.execute(_NOTIFY)


async def _take_event_order(connection: Connection) -> None:
    await connection.execute("SELECT pg_advisory_xact_lock(%s)", (EVENT_ORDER_LOCK,))


def _event_from_row(row: DictRow) -> StoredEvent:
    return StoredEvent(
        id=row["id"],
        task_id=row["task_id"],
        transition=TransitionName(row["transition"]),
        task=task_from_json(row["task"]) if row["task"] is not None else None,
        at=row["at"],
    )


async def _apply(
    connection: Connection, task_id: str, transition: Transition, attempt: int | None
) -> Task | None:
    async with connection.transaction():
        current = await _fetch_task(
            connection, "SELECT * FROM tasks WHERE id = %s FOR UPDATE", (task_id,)
        )
        if current is None:
            return None
        changes = transition.changes(current)
        query = sql.SQL("UPDATE tasks SET {} WHERE id = %s AND status = ANY(%s)").format(
            sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in changes)
        )
        params = [column_value(c, value, Dialect.POSTGRESQL) for c, value in changes.items()]
        params += [task_id, [status.value for status in allowed_from(transition)]]
        if attempt is not None:
            query, params = query + sql.SQL(" AND attempts = %s"), [*params, attempt]
        await _take_event_order(connection)
        saved = await _fetch_task(connection, query + sql.SQL(" RETURNING *"), params)
        if saved is None:
            raise TransitionRefused(task_id, transition.name, current.status)
        await _save_event(connection, task_id, transition.name, saved)
        return saved


async def _add_unless_same(connection: Connection, task: Task, max_queued: int) -> Task | None:
    """See PostgresTaskStore.add_unless_same."""
    audio = task.audio_format.value if task.audio_format else None
    same = {
        "url": task.url,
        "format": task.format,
        "audio": audio,
        "dead": _DEAD,
        "missing": ErrorKind.FILE_MISSING.value,
    }
    key = json.dumps([task.url, task.format, audio])
    async with connection.transaction():
        # POSTs of one download take turns, on every replica; others do not wait on them.
        await connection.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_SAME_DOWNLOAD_LOCK_CLASS, key)
        )
        found = await _fetch_task(connection, _SAME_DOWNLOAD, same)
        if found is not None:
            return found
        # Every write of a task status holds this lock, so the count stays true until commit.
        await _take_event_order(connection)
        counted = await connection.execute(_COUNT_QUEUED, (TaskStatus.QUEUED.value,))
        if (row := await counted.fetchone()) and row["n"] >= max_queued:
            raise QueueFull(max_queued)
        await connection.execute(_INSERT_TASK, task_values(task, Dialect.POSTGRESQL))
        await _save_event(connection, task.id, TransitionName.QUEUED, task)
    return None


class PostgresTaskStore:
    """The store on the PostgreSQL database at `url` (postgresql://user:password@host/db)."""

    def __init__(
        self, url: str, *, max_connections: int = 10, connection_timeout_s: float = 10.0
    ) -> None:
        self._url = url
        self._max_connections = max_connections
        # A call waits this long for a connection (a database down, all of them busy), then
        # fails with StoreUnavailable: a 503 rather than a request that hangs.
        self._connection_timeout_s = connection_timeout_s
        self._pool: AsyncConnectionPool[Connection] | None = None
        self._failure: str | None = None  # until a write succeeds again

    @property
    def failure(self) -> str | None:
        return self._failure

    async def _run(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """`work` on a connection of the pool. A database that cannot be reached or fails
        (down, disk full, too many connections) is remembered for the health route and
        answered as StoreUnavailable, a 503; a mistake in a query is raised as it is."""
        if self._pool is None:
            raise RuntimeError("the store is not open")
        try:
            async with self._pool.connection() as connection:
                result = await work(connection)
        except psycopg.OperationalError as exc:
            self._failure = _one_line(exc)
            raise StoreUnavailable(self._failure) from exc
        return result

    async def _write(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """Like _run; its success also ends a `failure` (a full disk refuses writes only)."""
        result = await self._run(work)
        self._failure = None
        return result

    async def run(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """`work` on a connection of the store's pool (autocommit, dict rows), for the tables
        other parts keep in this database (API keys, the signing secret, the rate limit, the
        webhook outbox). Raises StoreUnavailable like every call."""
        return await self._run(work)

    async def open(self) -> None:
        self._pool = AsyncConnectionPool(
            self._url,
            connection_class=AsyncConnection[DictRow],
            kwargs={"autocommit": True, "row_factory": dict_row},
            min_size=1,
            max_size=self._max_connections,
            timeout=self._connection_timeout_s,
            check=AsyncConnectionPool.check_connection,
            configure=_read_jsonb_as_text,
            name="offlinetube-tasks",
            open=False,
        )
        await self._pool.open()
        try:
            applied = await self._write(migrate_postgresql)
        except BaseException:
            await self.close()  # else the pool goes on trying to connect
            raise
        if applied:
            names = ", ".join(f"{step.version:04d}_{step.name}" for step in applied)
            logger.info("migrated %s: %s", redacted(self._url), names)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def add(self, task: Task) -> None:
        first = TransitionName.IMPORTED if task.status.is_final else TransitionName.QUEUED

        async def insert(connection: Connection) -> None:
            async with connection.transaction():
                await _take_event_order(connection)
                await connection.execute(_INSERT_TASK, task_values(task, Dialect.POSTGRESQL))
                await _save_event(connection, task.id, first, task)

        await self._write(insert)

    async def add_unless_same(self, task: Task, *, max_queued: int) -> Task | None:
        """See ports.TaskStore.add_unless_same."""
        return await self._write(lambda db: _add_unless_same(db, task, max_queued))

    async def apply(
        self, task_id: str, transition: Transition, *, attempt: int | None = None
    ) -> Task | None:
        """See ports.TaskStore.apply; `attempt` is compared with `attempts` before the
        change."""
        return await self._write(lambda db: _apply(db, task_id, transition, attempt))

    async def note_process(self, task_id: str, group: ProcessGroup | None) -> None:
        pgid, started = group if group else (None, None)
        query = "UPDATE tasks SET process_group = %s, process_started = %s WHERE id = %s"
        await self._write(lambda db: db.execute(query, (pgid, started, task_id)))

    async def remove(self, task_id: str) -> bool:
        async def delete(connection: Connection) -> bool:
            async with connection.transaction():
                found = await connection.execute(
                    "SELECT id FROM tasks WHERE id = %s FOR UPDATE", (task_id,)
                )
                if await found.fetchone() is None:
                    return False
                await _take_event_order(connection)
                await connection.execute("DELETE FROM tasks WHERE id = %s", (task_id,))
                await _save_event(connection, task_id, TransitionName.REMOVED, None)
                return True

        return await self._write(delete)

    async def get(self, task_id: str) -> Task | None:
        query = "SELECT * FROM tasks WHERE id = %s"
        return await self._run(lambda db: _fetch_task(db, query, (task_id,)))

    async def page(
        self, *, status: TaskStatus | None, limit: int, offset: int
    ) -> tuple[list[Task], int]:
        where = sql.SQL("WHERE status = %s" if status else "")
        of_status = [status.value] if status else []
        # The offset is walked in the index alone (an index-only scan of (status, seq), or of
        # seq), and only the rows of the page are read: with SELECT * ... OFFSET, PostgreSQL
        # would read every skipped row from the table (~4x slower at offset 50,000).
        rows = sql.SQL(
            "SELECT tasks.* FROM tasks JOIN"
            " (SELECT seq FROM tasks {} ORDER BY seq DESC LIMIT %s OFFSET %s) AS page USING (seq)"
            " ORDER BY seq DESC"
        )
        total = sql.SQL("SELECT coalesce(sum(n), 0) AS n FROM task_counts {}")

        async def query(connection: Connection) -> tuple[list[Task], int]:
            tasks = await _fetch_tasks(connection, rows.format(where), [*of_status, limit, offset])
            counted = await (await connection.execute(total.format(where), of_status)).fetchone()
            return tasks, int(counted["n"]) if counted else 0

        return await self._run(query)

    async def count(self, statuses: Iterable[TaskStatus]) -> int:
        wanted = [status.value for status in statuses]
        query = "SELECT coalesce(sum(n), 0) AS n FROM task_counts WHERE status = ANY(%s)"

        async def counted(connection: Connection) -> int:
            row = await (await connection.execute(query, (wanted,))).fetchone()
            return int(row["n"]) if row else 0

        return await self._run(counted)

    async def with_status(self, statuses: Iterable[TaskStatus]) -> list[Task]:
        wanted = [status.value for status in statuses]
        query = "SELECT * FROM tasks WHERE status = ANY(%s) ORDER BY seq"
        return await self._run(lambda db: _fetch_tasks(db, query, (wanted,)))

    async def in_playlist(self, playlist_id: str) -> list[Task]:
        query = "SELECT * FROM tasks WHERE playlist_id = %s ORDER BY playlist_index"
        return await self._run(lambda db: _fetch_tasks(db, query, (playlist_id,)))

    async def downloaded_files(self) -> list[StoredFile]:
        query = "SELECT id, filename, status FROM tasks WHERE status = %s OR error_kind = %s"
        params = (TaskStatus.COMPLETED.value, ErrorKind.FILE_MISSING.value)

        async def files(connection: Connection) -> list[StoredFile]:
            rows = await (await connection.execute(query, params)).fetchall()
            return [StoredFile(r["id"], r["filename"], TaskStatus(r["status"])) for r in rows]

        return await self._run(files)

    async def events_after(
        self, after_id: int, *, task_id: str | None = None, limit: int = 1000
    ) -> list[StoredEvent]:
        of_task = sql.SQL("AND task_id = %s" if task_id else "")
        query = sql.SQL("SELECT * FROM task_events WHERE id > %s {} ORDER BY id LIMIT %s")
        params = [after_id, *([task_id] if task_id else []), limit]

        async def events(connection: Connection) -> list[StoredEvent]:
            rows = await (await connection.execute(query.format(of_task), params)).fetchall()
            return [_event_from_row(row) for row in rows]

        return await self._run(events)

    async def event_bounds(self) -> tuple[int, int]:
        async def bounds(connection: Connection) -> tuple[int, int]:
            async with connection.transaction():
                # Shared with no writer: the last id handed out is committed or rolled back,
                # never still to come, so a reader may start after it.
                await connection.execute(
                    "SELECT pg_advisory_xact_lock_shared(%s)", (EVENT_ORDER_LOCK,)
                )
                row = await (await connection.execute(_EVENT_BOUNDS)).fetchone()
            assert row is not None  # an aggregate always answers one row
            newest = row["newest"] or row["handed_out"]
            if newest is None:
                return 0, 0
            return row["oldest"] or newest + 1, newest

        return await self._run(bounds)

    async def prune_events(self, *, keep: int, max_age: timedelta) -> int:
        cutoff = datetime.now(UTC) - max_age

        async def prune(connection: Connection) -> int:
            return (await connection.execute(_PRUNE, (cutoff, keep))).rowcount

        return await self._write(prune)
