"""The periodic upkeep of the distributed queue, run by real workers on real PostgreSQL: lost
workers' downloads run again, tasks without a job get one, old events go."""

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from procrastinate.periodic import PeriodicDeferrer

from offlinetube_api.config import Settings
from offlinetube_api.models import TaskStatus
from offlinetube_api.queue.upkeep import (
    EVERY_5_S,
    EVERY_10_S,
    EVERY_MINUTE,
    Upkeep,
)
from tests.queue.doubles import Interruptions, new_task
from tests.queue.harness import (
    REPO,
    QueueSide,
    WorkerSide,
    api_queue,
    make_worker,
    wait_until,
    worker_command,
    worker_in_process,
)

# A worker lost with its download must not delay that download by more than this (issue 10).
RERUN_BOUND_S = 60.0
# The reconciler's tick, with room for a busy machine.
RECONCILE_BOUND_S = 25.0


async def _runs_by(side: QueueSide, task_id: str, pid: int) -> list[dict[str, Any]]:
    return [run for run in await side.log.runs(task_id) if run["pid"] == pid]


async def _has_status(side: QueueSide, task_id: str, status: TaskStatus) -> bool:
    task = await side.store.get(task_id)
    return task is not None and task.status is status


async def _ran_in(side: QueueSide, task_id: str, pid: int) -> bool:
    return bool(await _runs_by(side, task_id, pid))


def test_a_task_queued_without_a_job_gets_one(postgres_url: str) -> None:
    """The store saved the task, and its process died before it deferred the job."""

    async def scenario() -> None:
        async with worker_in_process(postgres_url) as side:
            await side.store.add(new_task("t1"))

            async def ran() -> bool:
                return bool(await side.log.runs("t1"))

            await wait_until(ran, within_s=RECONCILE_BOUND_S, what="reconciled task ran")
            await side.log.release("t1")

    asyncio.run(scenario())


def test_a_running_task_no_job_runs_is_interrupted_and_runs_again(postgres_url: str) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with worker_in_process(postgres_url) as side:
            await side.store.add(new_task("t1", TaskStatus.DOWNLOADING, attempts=1))

            async def ran() -> bool:
                return bool(await side.log.runs("t1"))

            await wait_until(ran, within_s=RECONCILE_BOUND_S, what="orphan ran again")
            await side.log.release("t1")
            return await side.log.calls("on_interrupted"), await side.log.runs("t1")

    interrupted, runs = asyncio.run(scenario())
    assert [(call["task_id"], call["detail"]) for call in interrupted] == [("t1", "requeue")]
    assert interrupted[0]["at"] < runs[0]["started_at"]


@asynccontextmanager
async def _running_on_a_lost_worker(database_url: str) -> AsyncIterator[WorkerSide]:
    """t1 runs on a worker in a process of its own, which is then killed with SIGKILL; a
    worker in this process is up beside it."""
    lost = subprocess.Popen(
        worker_command(database_url, concurrency=1), cwd=REPO, stdout=subprocess.PIPE
    )
    try:
        assert lost.stdout is not None
        assert await asyncio.to_thread(lost.stdout.readline) == b"ready\n"
        async with api_queue(database_url) as side:
            await side.store.add(new_task("t1"))
            await side.queue.enqueue("t1")
            await wait_until(lambda: _ran_in(side, "t1", lost.pid), within_s=10, what="lost's run")
            other = make_worker(side, concurrency=1, shutdown_timeout=1.0)
            await other.start()
            try:
                os.kill(lost.pid, signal.SIGKILL)
                yield WorkerSide(side.store, side.log, side.queue, other)
            finally:
                await side.log.release("t1")
                await other.close()
    finally:
        lost.kill()
        lost.wait()


def test_a_killed_workers_download_runs_again_on_another_worker(postgres_url: str) -> None:
    async def scenario() -> None:
        async with _running_on_a_lost_worker(postgres_url) as side:
            await wait_until(
                lambda: _ran_in(side, "t1", os.getpid()),
                within_s=RERUN_BOUND_S,
                what="download run again after its worker was killed",
            )
            [interrupted] = await side.log.calls("on_interrupted")
            [rerun] = await _runs_by(side, "t1", os.getpid())
            assert (interrupted["task_id"], interrupted["detail"]) == ("t1", "requeue")
            assert interrupted["at"] < rerun["started_at"]

    asyncio.run(scenario())


def test_a_cancel_asked_of_a_killed_workers_download_settles_it(postgres_url: str) -> None:
    """The abort finds no worker to answer it and returns; the run is not run again, and the
    task ends cancelled once the worker is known lost."""

    async def scenario() -> None:
        async with _running_on_a_lost_worker(postgres_url) as side:
            await side.queue.abort("t1")
            await wait_until(
                lambda: _has_status(side, "t1", TaskStatus.CANCELLED),
                within_s=RERUN_BOUND_S,
                what="cancelled after its worker was killed",
            )
            [interrupted] = await side.log.calls("on_interrupted")
            assert (interrupted["task_id"], interrupted["detail"]) == ("t1", "cancel")
            assert await _runs_by(side, "t1", os.getpid()) == []

    asyncio.run(scenario())


def _age_heartbeat_of_the_worker_running(database_url: str, task_id: str, age_s: int) -> None:
    """As if the worker running the task had been silent for `age_s` seconds."""
    with psycopg.connect(database_url) as connection:
        connection.execute(
            "UPDATE procrastinate_workers SET last_heartbeat = now() - make_interval(secs => %s)"
            " WHERE id = (SELECT worker_id FROM procrastinate_jobs"
            "             WHERE status = 'doing' AND args->>'task_id' = %s)",
            (age_s, task_id),
        )


def test_a_worker_is_taken_for_lost_after_the_stalled_setting_not_before(
    postgres_url: str,
) -> None:
    """A killed worker silent for 25 s: still running its task by the default (30 s), lost by
    OFFLINETUBE_STALLED_AFTER_SECONDS=20, and its task then goes back to the queue."""

    def upkeep(side: QueueSide, stalled_after_s: float) -> Upkeep:
        return Upkeep(
            queue=side.queue,
            store=side.store,
            on_interrupted=Interruptions(side.store, side.log),
            settings=Settings(stalled_after_seconds=stalled_after_s),
        )

    async def scenario() -> None:
        lost = subprocess.Popen(
            worker_command(postgres_url, concurrency=1), cwd=REPO, stdout=subprocess.PIPE
        )
        try:
            assert lost.stdout is not None
            assert await asyncio.to_thread(lost.stdout.readline) == b"ready\n"
            async with api_queue(postgres_url) as side:
                await side.store.add(new_task("t1"))
                await side.queue.enqueue("t1")
                await wait_until(lambda: _ran_in(side, "t1", lost.pid), within_s=10, what="run")
                os.kill(lost.pid, signal.SIGKILL)
                await asyncio.to_thread(lost.wait)
                _age_heartbeat_of_the_worker_running(postgres_url, "t1", age_s=25)

                await upkeep(side, Settings().stalled_after_seconds).retry_stalled(timestamp=0)
                assert await side.log.calls("on_interrupted") == []
                assert await _has_status(side, "t1", TaskStatus.DOWNLOADING)

                await upkeep(side, 20).retry_stalled(timestamp=0)
                [interrupted] = await side.log.calls("on_interrupted")
                assert (interrupted["task_id"], interrupted["detail"]) == ("t1", "requeue")
                assert await _has_status(side, "t1", TaskStatus.QUEUED)
        finally:
            lost.kill()
            lost.wait()

    asyncio.run(scenario())


def test_pruning_drops_events_beyond_the_retention_settings(postgres_url: str) -> None:
    async def scenario() -> None:
        async with api_queue(postgres_url) as side:
            for task_id in ("t1", "t2", "t3"):
                await side.store.add(new_task(task_id))
            upkeep = Upkeep(
                queue=side.queue,
                store=side.store,
                on_interrupted=Interruptions(side.store, side.log),
                # Events older than about 0.1 s go.
                settings=Settings(event_retention_days=1e-6),
            )

            async def all_pruned() -> bool:
                await upkeep.prune(timestamp=0)
                oldest, newest = await side.store.event_bounds()
                return oldest > newest

            await wait_until(all_pruned, within_s=10, what="events pruned")

    asyncio.run(scenario())


def test_the_upkeep_jobs_are_periodic(postgres_url: str) -> None:
    async def scenario() -> dict[str, str]:
        async with api_queue(postgres_url) as side:
            make_worker(side, concurrency=1, shutdown_timeout=1.0)
            return {
                task.task.name: task.cron
                for task in side.queue.app.periodic_registry.periodic_tasks.values()
            }

    assert asyncio.run(scenario()) == {
        "offlinetube.retry_stalled": EVERY_5_S,
        "offlinetube.reconcile": EVERY_10_S,
        "offlinetube.prune": EVERY_MINUTE,
    }


def test_each_tick_of_a_periodic_job_runs_once_whatever_the_hosts(postgres_url: str) -> None:
    """Two hosts defer the same tick: one job. Even once that job has run and gone, the
    second host's deferral of that tick makes none."""

    def jobs() -> list[tuple[str, int]]:
        with psycopg.connect(postgres_url) as connection:
            return connection.execute(
                "SELECT task_name, count(*) FROM procrastinate_jobs GROUP BY 1 ORDER BY 1"
            ).fetchall()

    def delete_jobs() -> None:
        with psycopg.connect(postgres_url) as connection:
            connection.execute("DELETE FROM procrastinate_jobs")

    async def defer_tick(side: QueueSide, at: float) -> None:
        deferrer = PeriodicDeferrer(registry=side.queue.app.periodic_registry)
        await deferrer.defer_jobs(deferrer.get_previous_tasks(at=at))

    async def scenario() -> None:
        async with api_queue(postgres_url) as one, api_queue(postgres_url) as other:
            for side in (one, other):
                make_worker(side, concurrency=1, shutdown_timeout=1.0)
            at = time.time()
            await defer_tick(one, at)
            await defer_tick(other, at)
            assert jobs() == [
                ("offlinetube.prune", 1),
                ("offlinetube.reconcile", 1),
                ("offlinetube.retry_stalled", 1),
            ]
            delete_jobs()  # as a worker does once they ran
            await defer_tick(other, at)
            assert jobs() == []

    asyncio.run(scenario())
