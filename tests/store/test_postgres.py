"""PostgresTaskStore's own guarantees: event ids visible in increasing order under concurrent
writers, migrations run once by concurrent openers, a database that cannot be reached is a
StoreUnavailable that names no password."""

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from offlinetube_api.config import redacted
from offlinetube_api.errors import StoreUnavailable
from offlinetube_api.models import Task, TaskStatus
from offlinetube_api.postgres_sessions import ABANDONED_TRANSACTION_S
from offlinetube_api.store import PostgresTaskStore
from offlinetube_api.store.migrations import migrate_postgresql, steps
from offlinetube_api.store.postgres import EVENT_ORDER_LOCK
from offlinetube_api.store.rows import Dialect
from offlinetube_api.transitions import Cancelled, ProgressMade, Started
from tests.fixtures.postgres import Databases, free_port

WRITERS = 8
CHANGES_PER_WRITER = 25


def _task(n: int) -> Task:
    return Task(
        id=f"task-{n}",
        url=f"https://example.com/{n}",
        format=None,
        status=TaskStatus.QUEUED,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


@pytest.fixture
def empty_database(postgres_databases: Databases) -> Iterator[str]:
    url = postgres_databases.empty()
    yield url
    postgres_databases.drop(url)


async def _wait_for_a_lock_waiter(url: str) -> None:
    """Polls pg_locks until a session waits for an advisory lock in the database at `url`;
    fails after 10 s."""
    query = """SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"""
    give_up = time.monotonic() + 10
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as watcher:
        while True:
            row = await (await watcher.execute(query)).fetchone()
            if row and row[0]:
                return
            assert time.monotonic() < give_up, "the writer never waited for the event order"
            await asyncio.sleep(0.02)


def test_a_writer_waits_for_the_event_order_before_taking_an_id(postgres_url: str) -> None:
    """While one transaction holds an event id it has not committed, another writer gets no id:
    it waits, then takes a higher one, and no reader ever sees the higher one alone."""

    async def scenario() -> None:
        store = PostgresTaskStore(postgres_url)
        await store.open()
        await store.add(_task(1))
        (first,) = await store.events_after(0)
        other = await psycopg.AsyncConnection.connect(postgres_url, autocommit=True)
        async with other, other.transaction():
            await other.execute("SELECT pg_advisory_xact_lock(%s)", (EVENT_ORDER_LOCK,))
            cursor = await other.execute(
                "INSERT INTO task_events (task_id, transition, task, at) "
                "VALUES ('elsewhere', 'removed', NULL, now()) RETURNING id"
            )
            held = await cursor.fetchone()
            assert held is not None
            writer = asyncio.create_task(store.apply(_task(1).id, Cancelled()))
            await _wait_for_a_lock_waiter(postgres_url)
            assert await store.events_after(first.id) == []
            assert not writer.done()
        await writer
        later = await store.events_after(first.id)
        assert [(event.id, event.task_id) for event in later] == [
            (held[0], "elsewhere"),
            (held[0] + 1, _task(1).id),
        ]
        await store.close()

    asyncio.run(scenario())


def test_a_reader_following_concurrent_writers_misses_no_event(postgres_url: str) -> None:
    async def write(store: PostgresTaskStore, n: int) -> None:
        await store.apply(_task(n).id, Started(attempt=1))
        for step in range(CHANGES_PER_WRITER):
            await store.apply(_task(n).id, ProgressMade(step, CHANGES_PER_WRITER, None, None))

    async def follow(store: PostgresTaskStore, after: int, done: asyncio.Event) -> list[int]:
        """Reads on from the last id it saw, as an event stream does, until it has caught up
        after the writers finished."""
        seen: list[int] = []
        while True:
            finished = done.is_set()
            events = await store.events_after(seen[-1] if seen else after, limit=7)
            seen += [event.id for event in events]
            if finished and not events:
                return seen

    async def scenario() -> None:
        store = PostgresTaskStore(postgres_url, max_connections=WRITERS + 2)
        await store.open()
        for n in range(WRITERS):
            await store.add(_task(n))
        _, start = await store.event_bounds()
        expected = WRITERS * (CHANGES_PER_WRITER + 1)
        done = asyncio.Event()
        reader = asyncio.create_task(follow(store, start, done))
        await asyncio.gather(*(write(store, n) for n in range(WRITERS)))
        done.set()
        seen = await reader
        every = [event.id for event in await store.events_after(start, limit=10 * expected)]
        assert seen == every
        assert len(every) == expected
        await store.close()

    asyncio.run(scenario())


def test_concurrent_openers_migrate_once(empty_database: str) -> None:
    async def migrate() -> list[int]:
        async with await psycopg.AsyncConnection.connect(
            empty_database, autocommit=True
        ) as connection:
            return [step.version for step in await migrate_postgresql(connection)]

    async def scenario() -> list[list[int]]:
        return list(await asyncio.gather(migrate(), migrate(), migrate()))

    every = [step.version for step in steps(Dialect.POSTGRESQL)]
    assert sorted(asyncio.run(scenario())) == [[], [], every]
    with psycopg.connect(empty_database) as connection:
        recorded = connection.execute("SELECT version FROM schema_migrations ORDER BY 1")
        assert [row[0] for row in recorded] == every

    async def reopen() -> list[int]:
        store = PostgresTaskStore(empty_database)
        await store.open()
        await store.add(_task(1))
        await store.close()
        return await migrate()

    assert asyncio.run(reopen()) == []


def test_an_unreachable_database_is_unavailable_and_its_password_is_never_shown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"postgresql://postgres:s3cret-word@127.0.0.1:{free_port()}/nothing"

    async def scenario() -> PostgresTaskStore:
        store = PostgresTaskStore(url, connection_timeout_s=1.0)
        with pytest.raises(StoreUnavailable) as failed:
            await store.open()
        assert "s3cret-word" not in str(failed.value)
        return store

    with caplog.at_level(logging.DEBUG):
        store = asyncio.run(scenario())
    assert store.failure
    assert "s3cret-word" not in store.failure
    assert "s3cret-word" not in caplog.text
    assert redacted(url) == url.replace("s3cret-word", "***")


def test_connections_the_server_ended_are_replaced(postgres_url: str) -> None:
    async def scenario() -> None:
        store = PostgresTaskStore(postgres_url)
        await store.open()
        await store.add(_task(1))
        database = postgres_url.rsplit("/", 1)[1]
        async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as admin:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            )
        assert await store.get(_task(1).id) == _task(1)
        assert store.failure is None
        await store.close()

    asyncio.run(scenario())


def test_event_bounds_count_ids_of_rolled_back_writers(postgres_url: str) -> None:
    """Every event pruned and the newest id handed out to a transaction that rolled back: a
    reader starting at the newest id misses nothing that comes after."""

    async def scenario() -> None:
        store = PostgresTaskStore(postgres_url)
        await store.open()
        await store.add(_task(1))
        async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as other:
            with pytest.raises(psycopg.errors.RaiseException):
                async with other.transaction():
                    await other.execute(
                        "INSERT INTO task_events (task_id, transition, task, at) "
                        "VALUES ('x', 'removed', NULL, now())"
                    )
                    await other.execute("DO $$ BEGIN RAISE 'rolled back'; END $$")
        await store.prune_events(keep=0, max_age=timedelta(days=1))
        oldest, newest = await store.event_bounds()
        assert (oldest, newest) == (3, 2)
        await store.add(_task(2))
        (after,) = await store.events_after(newest)
        assert after.task_id == _task(2).id
        await store.close()

    asyncio.run(scenario())


def test_a_failure_is_reported_until_a_write_succeeds(postgres_url: str) -> None:
    """Every connection busy past the wait: StoreUnavailable, and `failure` says so until the
    next successful write (a read alone does not prove the database takes writes again)."""

    async def scenario() -> None:
        store = PostgresTaskStore(postgres_url, max_connections=1, connection_timeout_s=0.3)
        await store.open()
        acquired, release = asyncio.Event(), asyncio.Event()

        async def hold(_: object) -> None:
            acquired.set()
            await release.wait()

        holder = asyncio.create_task(store.run(hold))
        await acquired.wait()
        with pytest.raises(StoreUnavailable):
            await store.get(_task(1).id)
        assert store.failure and "connection" in store.failure
        release.set()
        await holder
        assert await store.get(_task(1).id) is None
        assert store.failure is not None
        await store.add(_task(1))
        assert store.failure is None
        await store.close()

    asyncio.run(scenario())


def test_a_host_gone_silent_inside_a_transaction_holds_the_others_writes_only_briefly(
    postgres_url: str,
) -> None:
    """A host cut off (or frozen) between two statements of a write leaves its session idle
    in a transaction that holds EVENT_ORDER_LOCK; PostgreSQL would notice the dead peer only
    when TCP gives up, hours later, and every other host's writes would wait that long. The
    server ends such a session after ABANDONED_TRANSACTION_S instead, and the writes go on."""

    async def scenario() -> None:
        lost, survivor = PostgresTaskStore(postgres_url), PostgresTaskStore(postgres_url)
        await lost.open()
        await survivor.open()
        held = asyncio.Event()

        async def hold_then_go_silent(connection: psycopg.AsyncConnection[object]) -> None:
            async with connection.transaction():
                await connection.execute("SELECT pg_advisory_xact_lock(%s)", (EVENT_ORDER_LOCK,))
                held.set()
                await asyncio.sleep(3600)  # nothing more reaches the server

        silent = asyncio.create_task(lost.run(hold_then_go_silent))
        await held.wait()
        started = time.monotonic()
        await asyncio.wait_for(survivor.add(_task(1)), timeout=ABANDONED_TRANSACTION_S + 30)
        waited = time.monotonic() - started
        assert waited >= ABANDONED_TRANSACTION_S - 1, "the write never waited for the lock"
        assert await survivor.get(_task(1).id) is not None
        silent.cancel()
        with pytest.raises((asyncio.CancelledError, StoreUnavailable)):
            await silent
        await survivor.close()
        await lost.close()

    asyncio.run(scenario())
