"""The API side of the distributed queue, against real PostgreSQL: jobs as procrastinate keeps
them, without a worker."""

import asyncio
from datetime import UTC, datetime, timedelta

import psycopg

from offlinetube_api.models import TaskStatus
from offlinetube_api.queue.procrastinate_queue import (
    DOWNLOAD_TASK,
    DOWNLOADS_QUEUE,
    job_key,
)
from tests.queue.doubles import new_task
from tests.queue.harness import api_queue


def _jobs(database_url: str) -> list[tuple[str, str, str, str, datetime | None]]:
    with psycopg.connect(database_url) as connection:
        return connection.execute(
            "SELECT status::text, lock, queueing_lock, args->>'task_id', scheduled_at"
            " FROM procrastinate_jobs WHERE task_name = %s AND queue_name = %s ORDER BY id",
            (DOWNLOAD_TASK, DOWNLOADS_QUEUE),
        ).fetchall()


def test_enqueue_makes_one_waiting_job_per_task(postgres_url: str) -> None:
    async def scenario() -> None:
        async with api_queue(postgres_url) as side:
            await side.queue.enqueue("t1")
            await side.queue.enqueue("t1")
            await side.queue.enqueue("t2")

    asyncio.run(scenario())
    assert _jobs(postgres_url) == [
        ("todo", job_key("t1"), job_key("t1"), "t1", None),
        ("todo", job_key("t2"), job_key("t2"), "t2", None),
    ]


def test_enqueue_with_a_delay_schedules_the_job(postgres_url: str) -> None:
    async def scenario() -> None:
        async with api_queue(postgres_url) as side:
            await side.queue.enqueue("t1", delay_s=90)

    before = datetime.now(UTC)
    asyncio.run(scenario())
    [(_, _, _, _, scheduled_at)] = _jobs(postgres_url)
    assert scheduled_at is not None
    assert before + timedelta(seconds=89) < scheduled_at < datetime.now(UTC) + timedelta(seconds=91)


def test_withdraw_deletes_the_waiting_job_once(postgres_url: str) -> None:
    async def scenario() -> list[bool]:
        async with api_queue(postgres_url) as side:
            await side.queue.enqueue("t1")
            await side.queue.enqueue("t2")
            return [
                await side.queue.withdraw("t1"),
                await side.queue.withdraw("t1"),
                await side.queue.withdraw("never-queued"),
            ]

    assert asyncio.run(scenario()) == [True, False, False]
    assert [job[3] for job in _jobs(postgres_url)] == ["t2"]


def test_a_withdrawn_task_can_be_queued_again(postgres_url: str) -> None:
    async def scenario() -> None:
        async with api_queue(postgres_url) as side:
            await side.queue.enqueue("t1")
            assert await side.queue.withdraw("t1")
            await side.queue.enqueue("t1")

    asyncio.run(scenario())
    assert [job[:2] for job in _jobs(postgres_url)] == [("todo", job_key("t1"))]


def test_abort_of_a_task_that_does_not_run_changes_nothing(postgres_url: str) -> None:
    async def scenario() -> None:
        async with api_queue(postgres_url) as side:
            await side.queue.enqueue("t1")
            await side.queue.abort("t1")
            await side.queue.abort("never-queued")

    asyncio.run(scenario())
    assert [job[0] for job in _jobs(postgres_url)] == ["todo"]


def test_figures_come_from_the_store_and_leave_the_slots_unknown(postgres_url: str) -> None:
    async def scenario() -> tuple[int, int, int | None]:
        async with api_queue(postgres_url) as side:
            for task_id, status in (
                ("q1", TaskStatus.QUEUED),
                ("q2", TaskStatus.QUEUED),
                ("d1", TaskStatus.DOWNLOADING),
                ("p1", TaskStatus.PROCESSING),
                ("c1", TaskStatus.COMPLETED),
            ):
                await side.store.add(new_task(task_id, status))
            figures = await side.queue.figures()
            return figures.queued, figures.running, figures.max_concurrent

    assert asyncio.run(scenario()) == (2, 2, None)


def test_close_ends_every_connection_of_the_queue(postgres_url: str) -> None:
    async def scenario() -> None:
        async with api_queue(postgres_url) as side:
            await side.queue.enqueue("t1")

    asyncio.run(scenario())
    with psycopg.connect(postgres_url) as connection:
        [(left,)] = connection.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = 'offlinetube-queue' AND datname = current_database()"
        ).fetchall()  # this test's database alone: parallel tests run queues of their own
    assert left == 0
