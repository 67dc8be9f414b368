"""Workers of the distributed queue, against real PostgreSQL and real procrastinate workers; the
runner is a double that records each run (tests/queue/doubles.py)."""

import asyncio
import signal
import subprocess
from typing import Any

import psycopg

from offlinetube_api.models import TaskStatus
from offlinetube_api.queue.procrastinate_queue import DOWNLOAD_TASK, job_key
from offlinetube_api.transitions import Requeued, RequeueReason
from tests.queue.doubles import new_task
from tests.queue.harness import (
    REPO,
    QueueSide,
    api_queue,
    make_worker,
    wait_until,
    worker_command,
    worker_in_process,
)

# A cancel must reach a download on any host within this many seconds (issue 10).
ABORT_BOUND_S = 2.0
# A worker process stops within OFFLINETUBE_SHUTDOWN_TIMEOUT (4 s in tests/queue/worker_process.py).
SHUTDOWN_BOUND_S = 10.0


def _download_jobs(database_url: str) -> list[tuple[str, str]]:
    with psycopg.connect(database_url) as connection:
        return connection.execute(
            "SELECT status::text, args->>'task_id' FROM procrastinate_jobs WHERE task_name = %s"
            " ORDER BY id",
            (DOWNLOAD_TASK,),
        ).fetchall()


async def _status(side: QueueSide, task_id: str) -> TaskStatus | None:
    task = await side.store.get(task_id)
    return task.status if task else None


async def _has_status(side: QueueSide, task_id: str, status: TaskStatus) -> bool:
    return await _status(side, task_id) is status


async def _submit(side: QueueSide, task_id: str) -> None:
    await side.store.add(new_task(task_id))
    await side.queue.enqueue(task_id)


async def _run_started(side: QueueSide, task_id: str, count: int = 1) -> bool:
    started = [run for run in await side.log.runs(task_id) if run["outcome"] != "skipped"]
    return len(started) >= count


async def _wait_for_run(side: QueueSide, task_id: str) -> None:
    await wait_until(lambda: _run_started(side, task_id), within_s=10, what=f"{task_id} ran")


def test_a_queued_task_runs_once_and_its_job_goes(postgres_url: str) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with worker_in_process(postgres_url) as side:
            await _submit(side, "t1")
            await wait_until(lambda: _run_started(side, "t1"), within_s=10, what="run")
            await side.log.release("t1")
            await wait_until(
                lambda: _has_status(side, "t1", TaskStatus.COMPLETED),
                within_s=10,
                what="completed",
            )
            await wait_until(
                lambda: asyncio.to_thread(lambda: not _download_jobs(postgres_url)),
                within_s=10,
                what="finished job deleted",
            )
            return await side.log.runs("t1")

    runs = asyncio.run(scenario())
    assert [run["outcome"] for run in runs] == ["done"]


def test_abort_reaches_a_running_download_within_two_seconds(postgres_url: str) -> None:
    async def scenario() -> None:
        async with worker_in_process(postgres_url) as side:
            await _submit(side, "t1")
            await wait_until(lambda: _run_started(side, "t1"), within_s=10, what="run")
            abort = asyncio.create_task(side.queue.abort("t1"))

            async def cancelled() -> bool:
                return [run["outcome"] for run in await side.log.runs("t1")] == ["CANCEL"]

            await wait_until(cancelled, within_s=ABORT_BOUND_S, what="abort reached")
            await abort

    asyncio.run(scenario())


def test_abort_returns_once_the_run_has_settled(postgres_url: str) -> None:
    async def scenario() -> None:
        async with worker_in_process(postgres_url) as side:
            await _submit(side, "t1")
            await wait_until(lambda: _run_started(side, "t1"), within_s=10, what="run")
            await side.queue.abort("t1")
            assert await _status(side, "t1") is TaskStatus.CANCELLED
            assert [run["outcome"] for run in await side.log.runs("t1")] == ["CANCEL"]

    asyncio.run(scenario())


def test_a_cancelled_task_is_not_queued_again(postgres_url: str) -> None:
    async def scenario() -> None:
        async with worker_in_process(postgres_url) as side:
            await _submit(side, "t1")
            await wait_until(lambda: _run_started(side, "t1"), within_s=10, what="run")
            await side.queue.abort("t1")
            await wait_until(
                lambda: asyncio.to_thread(lambda: not _download_jobs(postgres_url)),
                within_s=10,
                what="aborted job deleted",
            )

    asyncio.run(scenario())


def test_a_task_never_runs_twice_at_once(postgres_url: str) -> None:
    """Its second job waits for the first run to end, though two workers are free."""

    async def scenario() -> list[dict[str, Any]]:
        async with (
            worker_in_process(postgres_url, concurrency=2) as side,
            worker_in_process(postgres_url, concurrency=2),
        ):
            await _submit(side, "t1")
            await wait_until(lambda: _run_started(side, "t1"), within_s=10, what="run 1")
            # Queued again while it runs (as a retry would): a second job, free to be taken
            # but for the lock.
            await side.store.apply("t1", Requeued(RequeueReason.RETRY), attempt=1)
            await side.queue.enqueue("t1")
            assert [status for status, _ in _download_jobs(postgres_url)] == ["doing", "todo"]
            await side.log.release("t1")

            async def second_entered() -> bool:
                return len(await side.log.runs("t1")) == 2

            await wait_until(second_entered, within_s=10, what="second job ran")
            return await side.log.runs("t1")

    first, second = asyncio.run(scenario())
    assert first["ended_at"] is not None
    assert second["started_at"] >= first["ended_at"]


def test_shutdown_puts_a_running_download_back_for_another_worker(postgres_url: str) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with api_queue(postgres_url) as side:
            first = make_worker(side, concurrency=1, shutdown_timeout=4.0)
            await first.start()
            await _submit(side, "t1")
            await wait_until(lambda: _run_started(side, "t1"), within_s=10, what="run 1")
            await first.close()
            assert await _status(side, "t1") is TaskStatus.QUEUED
            assert _download_jobs(postgres_url) == [("todo", "t1")]

            async with worker_in_process(postgres_url, concurrency=1) as other:
                await wait_until(
                    lambda: _run_started(other, "t1", count=2), within_s=10, what="run 2"
                )
                await other.log.release("t1")
                await wait_until(
                    lambda: _has_status(other, "t1", TaskStatus.COMPLETED),
                    within_s=10,
                    what="completed",
                )
            return await side.log.runs("t1")

    runs = asyncio.run(scenario())
    assert [run["outcome"] for run in runs] == ["SHUTDOWN", "done"]


def test_sigterm_puts_a_worker_process_downloads_back_and_exits_0(postgres_url: str) -> None:
    async def scenario() -> int:
        process = subprocess.Popen(
            worker_command(postgres_url, concurrency=2), cwd=REPO, stdout=subprocess.PIPE
        )
        try:
            assert process.stdout is not None
            assert await asyncio.to_thread(process.stdout.readline) == b"ready\n"
            async with api_queue(postgres_url) as side:
                for task_id in ("t1", "t2"):
                    await _submit(side, task_id)
                    await _wait_for_run(side, task_id)
                process.send_signal(signal.SIGTERM)
                code = await asyncio.to_thread(process.wait, SHUTDOWN_BOUND_S)
                for task_id in ("t1", "t2"):
                    assert await _status(side, task_id) is TaskStatus.QUEUED
                    assert [run["outcome"] for run in await side.log.runs(task_id)] == ["SHUTDOWN"]
                assert sorted(_download_jobs(postgres_url)) == [("todo", "t1"), ("todo", "t2")]
                return code
        finally:
            process.kill()
            process.wait()

    assert asyncio.run(scenario()) == 0


def test_a_run_that_ignores_the_shutdown_is_given_up_and_its_task_queued(
    postgres_url: str,
) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with api_queue(postgres_url) as side:
            worker = make_worker(side, concurrency=1, shutdown_timeout=1.0)
            await worker.start()
            await _submit(side, "stubborn")
            await wait_until(lambda: _run_started(side, "stubborn"), within_s=10, what="run")
            await worker.close()
            assert await _status(side, "stubborn") is TaskStatus.QUEUED
            assert _download_jobs(postgres_url) == [("todo", "stubborn")]
            return await side.log.calls("on_interrupted")

    [interrupted] = asyncio.run(scenario())
    assert (interrupted["task_id"], interrupted["detail"]) == ("stubborn", "requeue")


def test_the_job_key_is_both_locks(postgres_url: str) -> None:
    async def scenario() -> None:
        async with api_queue(postgres_url) as side:
            await side.queue.enqueue("t1")

    asyncio.run(scenario())
    with psycopg.connect(postgres_url) as connection:
        rows = connection.execute("SELECT lock, queueing_lock FROM procrastinate_jobs").fetchall()
    assert rows == [(job_key("t1"), job_key("t1"))]
