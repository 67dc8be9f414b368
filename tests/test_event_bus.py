"""Event buses wake every waiting reader: in process on announce, in PostgreSQL on the NOTIFY
of a commit (from any connection), also after the LISTEN connection was lost and made again."""

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from offlinetube_api.event_bus import InProcessEventBus
from offlinetube_api.models import Task, TaskStatus
from offlinetube_api.postgres_event_bus import PostgresEventBus
from offlinetube_api.store import PostgresTaskStore
from tests.fixtures.postgres import free_port

# Far longer than a wake-up takes: a waiter still waiting after this was not woken.
WOKEN_WITHIN_S = 20.0
NEVER_S = 3600.0


def _task(n: int) -> Task:
    return Task(
        id=f"task-{n}",
        url="https://example.com/v",
        format=None,
        status=TaskStatus.QUEUED,
        created_at=datetime.now(UTC),
    )


async def _until(condition: Callable[[], bool], what: str) -> None:
    give_up = time.monotonic() + WOKEN_WITHIN_S
    while not condition():
        assert time.monotonic() < give_up, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def _waiting(
    wait: Callable[[float], Coroutine[Any, Any, None]], readers: int
) -> list[asyncio.Task[None]]:
    """`readers` tasks inside wait(NEVER_S)."""
    waiters = [asyncio.create_task(wait(NEVER_S)) for _ in range(readers)]
    await asyncio.sleep(0)  # each runs up to its wait
    return waiters


def test_announce_wakes_every_waiting_reader() -> None:
    async def scenario() -> None:
        bus = InProcessEventBus()
        await bus.start()
        waiters = await _waiting(bus.wait, 3)
        assert not any(waiter.done() for waiter in waiters)
        bus.announce()
        await asyncio.wait_for(asyncio.gather(*waiters), WOKEN_WITHIN_S)
        await bus.wait(0.01)  # nothing announced since: it lasts its timeout
        await bus.close()

    asyncio.run(scenario())


def test_an_announcement_between_a_read_and_the_wait_is_not_slept_through() -> None:
    async def scenario() -> None:
        bus = InProcessEventBus()
        seen = bus.announcements  # noted, then the reader reads the store...
        bus.announce()  # ...while a writer commits
        await asyncio.wait_for(bus.wait(NEVER_S, seen=seen), WOKEN_WITHIN_S)
        waiter = asyncio.create_task(bus.wait(NEVER_S, seen=bus.announcements))
        await asyncio.sleep(0)
        assert not waiter.done()  # nothing since: it waits
        bus.announce()
        await asyncio.wait_for(waiter, WOKEN_WITHIN_S)

    asyncio.run(scenario())


def test_a_commit_in_postgresql_wakes_every_waiting_reader(postgres_url: str) -> None:
    async def scenario() -> None:
        bus = PostgresEventBus(postgres_url)
        store = PostgresTaskStore(postgres_url)  # another connection than the bus's
        await store.open()
        await bus.start()
        await _until(lambda: bus.listening, "the bus to listen")
        waiters = await _waiting(bus.wait, 3)
        await store.add(_task(1))
        await asyncio.wait_for(asyncio.gather(*waiters), WOKEN_WITHIN_S)
        await bus.wait(0.01)
        await bus.close()
        await store.close()

    asyncio.run(scenario())


def test_the_bus_listens_again_after_its_connection_is_ended(postgres_url: str) -> None:
    database = postgres_url.rsplit("/", 1)[1]
    listeners = (
        "SELECT pid FROM pg_stat_activity "
        "WHERE datname = %s AND application_name = 'offlinetube-events'"
    )

    async def scenario() -> None:
        bus = PostgresEventBus(postgres_url, max_backoff_s=0.5)
        store = PostgresTaskStore(postgres_url)
        await store.open()
        await bus.start()
        await _until(lambda: bus.listening, "the bus to listen")
        async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as admin:
            ended = await (await admin.execute(listeners, (database,))).fetchall()
            assert len(ended) == 1
            await admin.execute("SELECT pg_terminate_backend(%s)", ended[0])
            give_up = time.monotonic() + WOKEN_WITHIN_S
            while (await (await admin.execute(listeners, (database,))).fetchall()) in ([], ended):
                assert time.monotonic() < give_up, "the bus never listened again"
                await asyncio.sleep(0.02)
        await _until(lambda: bus.listening, "the bus to listen again")
        waiters = await _waiting(bus.wait, 2)
        await store.add(_task(1))
        await asyncio.wait_for(asyncio.gather(*waiters), WOKEN_WITHIN_S)
        await bus.close()
        await store.close()

    asyncio.run(scenario())


def test_without_a_server_readers_poll_and_no_password_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"postgresql://postgres:s3cret-word@127.0.0.1:{free_port()}/nothing"

    async def scenario() -> None:
        bus = PostgresEventBus(url, max_backoff_s=0.1)
        await bus.start()
        await bus.wait(0.3)  # lasts its timeout, raises nothing
        assert not bus.listening
        await bus.close()

    with caplog.at_level(logging.DEBUG):
        asyncio.run(scenario())
    assert "cannot listen for events" in caplog.text
    assert "s3cret-word" not in caplog.text
