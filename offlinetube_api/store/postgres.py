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
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.rows import DictRow, dict_row
from psycopg.types.string import TextLoader
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from offlinetube_api.config import redacted
from offlinetube_api.errors import QueueFull, StoreUnavailable
from offlinetube_api.models import ErrorKind, Task, TaskStatus
from offlinetube_api.ports import (
    EVENTS_CHANNEL,
    ProcessGroup,
    StoredEvent,
    StoredFile,
    TaskPage,
)
from offlinetube_api.postgres_sessions import session_options
from offlinetube_api.store.migrations import migrate_postgresql
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
Connection = AsyncConnection[DictRow]
logger = logging.getLogger(__name__)

EVENT_ORDER_LOCK = 0x6F74_6576_656E_7473  # "otevents"
# How long the command line waits for the database before it calls its address wrong, in
# seconds per address (libpq's connect_timeout): a host that drops packets would otherwise
# hold the start for minutes.
PROBE_TIMEOUT_S = 5
# Once a wait for a connection has run out (the database down, or every connection busy that
# long), a call waits only this long, in seconds, until one gets a connection again: a request
# answers 503 at once instead of after connection_timeout_s per store call, and a connection
# the pool has made again in the background is handed over without a wait.
OUTAGE_WAIT_S = 0.2
# The pool's attempts to connect again back off (1, 2, 4... s) for this long at most, in
# seconds, then stop until a call asks for a connection, which starts them over: a database
# back after a long outage is found within seconds, not after a back-off of minutes.
RECONNECT_GIVE_UP_S = 10.0
_DEAD = [TaskStatus.FAILED.value, TaskStatus.CANCELLED.value]

_INSERT_TASK = sql.SQL("INSERT INTO tasks ({}) VALUES ({})").format(
    sql.SQL(", ").join(map(sql.Identifier, STORED_COLUMNS)),
    sql.SQL(", ").join(sql.Placeholder() for _ in STORED_COLUMNS),
)
_INSERT_EVENT = "INSERT INTO task_events (task_id, transition, task, at) VALUES (%s, %s, %s, %s)"
_INSERT_SUBSCRIPTION_EVENT = (
    "INSERT INTO task_events (task_id, transition, subscription, at) VALUES (%s, %s, %s, %s)"
)
_NOTIFY = sql.SQL("NOTIFY {}").format(sql.Identifier(EVENTS_CHANNEL))
# pg_advisory_xact_lock(class, hashtext(key)): one look-then-insert per duplicate key at a time.
_SAME_DOWNLOAD_LOCK_CLASS = 0x6F74_6475  # "otdu"
_SAME_DOWNLOAD = """
    SELECT * FROM tasks
    WHERE ((url = %(url)s AND page_item IS NULL) OR source_url = %(url)s
           OR (video_id = %(video_id)s AND extractor = %(extractor)s))
    AND format IS NOT DISTINCT FROM %(format)s AND audio_format IS NOT DISTINCT FROM %(audio)s
    AND (status <> ALL(%(dead)s) OR error_kind = %(missing)s)
    ORDER BY seq DESC LIMIT 1"""
_MISSING_TITLE_WORDS = (  # as its partial index says
    "SELECT seq, title FROM tasks WHERE title_words IS NULL AND title IS NOT NULL LIMIT 10000"
)
_TITLE_MATCHES = "title_search @@ to_tsquery('simple', %s)"  # in the index tasks_by_title
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


async def has_schema(url: str) -> bool:
    """Whether the database at `url` (reachable) holds this service's tables: whether a
    service, a worker or a migration ran on it."""
    async with await psycopg.AsyncConnection.connect(url, connect_timeout=PROBE_TIMEOUT_S) as db:
        cursor = await db.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
        row = await cursor.fetchone()
    return bool(row and row[0])


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


async def save_subscription_event(
    connection: Connection, name: SubscriptionEventName, subscription: Subscription
) -> None:
    """Inside the transaction that made the change, after the subscription's row is locked
    (written): takes EVENT_ORDER_LOCK, then saves the event; NOTIFY is delivered at commit."""
    await _take_event_order(connection)
    values = (subscription.id, name.value, subscription_json(subscription), datetime.now(UTC))
    await connection.execute(_INSERT_SUBSCRIPTION_EVENT, values)
    await connection.execute(_NOTIFY)


def _event_from_row(row: DictRow) -> StoredEvent:
    if row["subscription"] is not None:
        return StoredEvent(
            id=row["id"],
            task_id=row["task_id"],
            transition=SubscriptionEventName(row["transition"]),
            task=None,
            at=row["at"],
            subscription=subscription_from_json(row["subscription"]),
        )
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
        changes = stored_changes(transition.changes(current))
        query = sql.SQL("UPDATE tasks SET {} WHERE id = %s AND status = ANY(%s)").format(
            sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in changes)
        )
        params = [column_value(c, value, Dialect.POSTGRESQL) for c, value in changes.items()]
        params += [task_id, [status.value for status in allowed_from(transition)]]
        if attempt is not None:
            query, params = query + sql.SQL(" AND attempts = %s"), [*params, attempt]
        # The order lock serializes the writes of every host: a count taken after it holds
        # until the start it allows is saved.
        await _take_event_order(connection)
        if cap := site_cap(current, transition):
            await _refuse_when_busy(connection, task_id, *cap)
        saved = await _fetch_task(connection, query + sql.SQL(" RETURNING *"), params)
        if saved is None:
            raise TransitionRefused(task_id, transition.name, current.status)
        await _save_event(connection, task_id, transition.name, saved)
        return saved


async def _refuse_when_busy(connection: Connection, task_id: str, site: str, cap: int) -> None:
    found = await connection.execute(RUNNING_AT_SITE.format(mark="%s"), (site,))
    row = await found.fetchone()
    running = int(row["running"]) if row else 0
    if running >= cap:
        raise SiteBusy(task_id, site, running)


async def _fill_title_words(connection: Connection) -> int:
    """Writes `title_words` where it is missing: the rows of releases before the search
    (migration 0011). How many rows it wrote; 0 at once, through a partial index, after.
    Replicas opening together may write the same rows: with the same words."""
    filled = 0
    while rows := await (await connection.execute(_MISSING_TITLE_WORDS)).fetchall():
        values = [(title_words(row["title"]), row["seq"]) for row in rows]
        async with connection.transaction(), connection.cursor() as cursor:
            await cursor.executemany("UPDATE tasks SET title_words = %s WHERE seq = %s", values)
        filled += len(rows)
    return filled


def _tsquery(words: Sequence[str]) -> str:
    """A tsquery for titles that have each of `words` (letters and digits only, so quoting
    each keeps the tsquery syntax out)."""
    return " & ".join(f"'{word}'" for word in words)


def _page_queries(
    status: TaskStatus | None,
    before: int | None,
    words: Sequence[str],
    oldest_first: bool,
    subscription_id: str | None,
) -> tuple[sql.Composed, list[Any], sql.Composed, list[Any]]:
    """The SQL of a page (its parameters, then LIMIT and OFFSET) and of its total, with their
    parameters. The page is found in an index alone (an index-only scan of (status, seq), or
    of seq, backwards for newest first: `before` is where the scan starts, `offset` how far it
    walks), and only the rows of the page are read: with SELECT * ... OFFSET, PostgreSQL would
    read every skipped row from the table (~4x slower at offset 50,000). With `words`, the
    tasks that have them come from the title index first (MATERIALIZED): the planner cannot
    tell a rare word from a common one, and would walk the table newest first looking for it
    (~300 ms at 1,000,000 tasks for the word of one title). A subscription's tasks come from
    its partial index, as few as its checks queued."""
    matching = [(_TITLE_MATCHES, _tsquery(words))] if words else []
    of_status = [("status = %s", status.value)] if status else []
    of_subscription = [("subscription_id = %s", subscription_id)] if subscription_id else []
    beyond, order = (">", "ASC") if oldest_first else ("<", "DESC")
    older = [(f"seq {beyond} %s", before)] if before is not None else []
    where, params = where_clause(matching + of_status + of_subscription + older)
    counted, count_params = where_clause(matching + of_status + of_subscription)
    matched: sql.Composable = sql.SQL("")
    source: sql.Composable = sql.SQL("tasks {}").format(sql.SQL(where))
    if words:
        matched = sql.SQL("WITH matched AS MATERIALIZED (SELECT seq FROM {}) ").format(source)
        source = sql.SQL("matched")
    # One row more than the page tells whether another page follows.
    rows = sql.SQL(
        "{}SELECT tasks.* FROM tasks JOIN"
        " (SELECT seq FROM {} ORDER BY seq {} LIMIT %s OFFSET %s) AS page USING (seq)"
        " ORDER BY seq {}"
    ).format(matched, source, sql.SQL(order), sql.SQL(order))
    # Without words or a subscription, X-Total-Count comes from the kept counts; else it is
    # counted.
    total = sql.SQL(
        "SELECT count(*) AS n FROM tasks {}"
        if words or subscription_id
        else "SELECT coalesce(sum(n), 0) AS n FROM task_counts {}"
    ).format(sql.SQL(counted))
    return rows, params, total, count_params


async def _add_unless_same(connection: Connection, task: Task, max_queued: int) -> Task | None:
    """See PostgresTaskStore.add_unless_same."""
    audio = task.audio_format.value if task.audio_format else None
    same = {
        "url": task.url,
        "format": task.format,
        "audio": audio,
        "dead": _DEAD,
        "missing": ErrorKind.FILE_MISSING.value,
        "video_id": task.video_id,
        "extractor": task.extractor,
    }
    keys = [json.dumps([task.url, task.format, audio])]
    if task.video_id is not None:  # the same video under another address: one key more
        keys.append(json.dumps([task.extractor, task.video_id, task.format, audio]))
    async with connection.transaction():
        # POSTs of one download take turns, on every replica; others do not wait on them.
        # Always the address's key first, so two writers never wait on each other's.
        for key in keys:
            await connection.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_SAME_DOWNLOAD_LOCK_CLASS, key)
            )
        found = await _fetch_task(connection, _SAME_DOWNLOAD, same)
        if found is not None:
            return found
        await _take_event_order(connection)
        await _refuse_beyond(connection, max_queued)
        await connection.execute(_INSERT_TASK, task_values(task, Dialect.POSTGRESQL))
        await _save_event(connection, task.id, TransitionName.QUEUED, task)
    return None


async def _refuse_beyond(connection: Connection, max_queued: int) -> None:
    """Raises QueueFull when `max_queued` tasks wait. Call it holding EVENT_ORDER_LOCK: every
    write of a task status holds it, so the count stays true until commit."""
    counted = await connection.execute(_COUNT_QUEUED, (TaskStatus.QUEUED.value,))
    if (row := await counted.fetchone()) and row["n"] >= max_queued:
        raise QueueFull(max_queued)


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
        self._unreachable = False  # until a call gets a connection again

    @property
    def failure(self) -> str | None:
        return self._failure

    async def _run(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """`work` on a connection of the pool. A database that cannot be reached or fails
        (down, disk full, too many connections) is remembered for the health route and
        answered as StoreUnavailable, a 503; a mistake in a query is raised as it is."""
        if self._pool is None:
            raise RuntimeError("the store is not open")
        wait_s = OUTAGE_WAIT_S if self._unreachable else self._connection_timeout_s
        try:
            async with self._pool.connection(timeout=wait_s) as connection:
                self._unreachable = False
                result = await work(connection)
        except psycopg.OperationalError as exc:  # PoolTimeout among them
            self._unreachable = isinstance(exc, PoolTimeout)
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
            kwargs={
                "autocommit": True,
                "row_factory": dict_row,
                "options": session_options(self._url),
            },
            min_size=1,
            max_size=self._max_connections,
            timeout=self._connection_timeout_s,
            reconnect_timeout=RECONNECT_GIVE_UP_S,
            check=AsyncConnectionPool.check_connection,
            configure=_read_jsonb_as_text,
            name="offlinetube-tasks",
            open=False,
        )
        await self._pool.open()
        try:
            applied = await self._write(migrate_postgresql)
            filled = await self._write(_fill_title_words)
        except BaseException:
            await self.close()  # else the pool goes on trying to connect
            raise
        if applied:
            names = ", ".join(f"{step.version:04d}_{step.name}" for step in applied)
            logger.info("migrated %s: %s", redacted(self._url), names)
        if filled:
            logger.info("filled the search words of %d task titles", filled)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def add(self, task: Task, *, max_queued: int | None = None) -> None:
        """See ports.TaskStore.add."""
        first = TransitionName.IMPORTED if task.status.is_final else TransitionName.QUEUED

        async def insert(connection: Connection) -> None:
            async with connection.transaction():
                await _take_event_order(connection)
                if max_queued is not None:
                    await _refuse_beyond(connection, max_queued)
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
        rows, params, total, count_params = _page_queries(
            status, before, words, oldest_first, subscription_id
        )

        async def query(connection: Connection) -> TaskPage:
            found = await (await connection.execute(rows, [*params, limit + 1, offset])).fetchall()
            summed = await (await connection.execute(total, count_params)).fetchone()
            following = found[limit - 1]["seq"] if len(found) > limit else None
            tasks = [task_from_row(row) for row in found[:limit]]
            return TaskPage(tasks, int(summed["n"]) if summed else 0, following)

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
