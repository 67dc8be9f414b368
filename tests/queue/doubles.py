"""What the queue drives, as test doubles over the real store: a runner that makes the real
runner's transitions but downloads nothing (each run lasts until the test releases its task or
a stop reaches it), the `on_interrupted` callback, and a log of runs and calls kept in the
test's database, so that worker processes and the test share it. The queue, procrastinate and
the PostgreSQL store around them are the real ones."""

import asyncio
import os
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from offlinetube_api.models import Task, TaskStatus
from offlinetube_api.ports import TaskStore
from offlinetube_api.transitions import (
    Cancelled,
    Completed,
    Requeued,
    RequeueReason,
    Started,
    Transition,
    TransitionRefused,
)
from offlinetube_api.worker.outcomes import StopReason
from offlinetube_api.worker.runner import RunningDownload

SCHEMA = """
CREATE TABLE IF NOT EXISTS queue_test_runs (
    id serial PRIMARY KEY,
    task_id text NOT NULL,
    pid integer NOT NULL,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    ended_at timestamptz,
    outcome text
);
CREATE TABLE IF NOT EXISTS queue_test_calls (
    id serial PRIMARY KEY,
    name text NOT NULL,
    task_id text,
    detail text,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS queue_test_releases (task_id text PRIMARY KEY);
"""

POLL_S = 0.02


def new_task(task_id: str, status: TaskStatus = TaskStatus.QUEUED, attempts: int = 0) -> Task:
    return Task(
        id=task_id,
        url=f"https://example.com/{task_id}",
        format=None,
        status=status,
        created_at=datetime.now(UTC),
        attempts=attempts,
    )


class RunLog:
    """Runs (who ran which task, when, how it ended), calls of the callbacks, and the tasks
    the test released."""

    def __init__(self, database_url: str) -> None:
        self._pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]] = AsyncConnectionPool(
            database_url,
            min_size=1,
            max_size=4,
            open=False,
            kwargs={"autocommit": True, "row_factory": dict_row},
        )

    async def open(self) -> None:
        await self._pool.open(wait=True)
        await self._execute(SCHEMA)

    async def close(self) -> None:
        await self._pool.close()

    async def release(self, task_id: str) -> None:
        await self._execute(
            "INSERT INTO queue_test_releases VALUES (%s) ON CONFLICT DO NOTHING", task_id
        )

    async def released(self, task_id: str) -> bool:
        return bool(
            await self._rows("SELECT 1 FROM queue_test_releases WHERE task_id = %s", task_id)
        )

    async def record(self, name: str, task_id: str | None, detail: str | None) -> None:
        await self._execute(
            "INSERT INTO queue_test_calls (name, task_id, detail) VALUES (%s, %s, %s)",
            name,
            task_id,
            detail,
        )

    async def calls(self, name: str) -> list[dict[str, Any]]:
        return await self._rows("SELECT * FROM queue_test_calls WHERE name = %s ORDER BY id", name)

    async def runs(self, task_id: str) -> list[dict[str, Any]]:
        return await self._rows(
            "SELECT * FROM queue_test_runs WHERE task_id = %s ORDER BY id", task_id
        )

    async def start_run(self, task_id: str) -> int:
        rows = await self._rows(
            "INSERT INTO queue_test_runs (task_id, pid) VALUES (%s, %s) RETURNING id",
            task_id,
            os.getpid(),
        )
        return int(rows[0]["id"])

    async def end_run(self, run_id: int, outcome: str) -> None:
        await self._execute(
            "UPDATE queue_test_runs SET ended_at = clock_timestamp(), outcome = %s WHERE id = %s",
            outcome,
            run_id,
        )

    async def _execute(self, query: Any, *args: Any) -> None:
        async with self._pool.connection() as connection:
            await connection.execute(query, args or None)

    async def _rows(self, query: Any, *args: Any) -> list[dict[str, Any]]:
        async with self._pool.connection() as connection:
            cursor = await connection.execute(query, args or None)
            return await cursor.fetchall()


class RecordingRunner:
    """Makes the real runner's transitions for a queued task (started, then completed,
    cancelled or requeued by how the run ended) and records each run; a task that is not
    queued is `skipped`. A "stubborn" task ignores stops, as a hung download would."""

    def __init__(self, store: TaskStore, log: RunLog) -> None:
        self._store = store
        self._log = log

    async def run(self, task_id: str, running: RunningDownload) -> None:
        task = await self._store.get(task_id)
        if task is None or task.status is not TaskStatus.QUEUED:
            await self._log.end_run(await self._log.start_run(task_id), "skipped")
            return
        attempt = task.attempts + 1
        await self._store.apply(task_id, Started(attempt))
        run_id = await self._log.start_run(task_id)
        stubborn = task_id.startswith("stubborn")
        while (stubborn or running.stop_reason is None) and not await self._log.released(task_id):
            await asyncio.sleep(POLL_S)
        ending: Transition
        if running.stop_reason is StopReason.SHUTDOWN:
            ending = Requeued(RequeueReason.SHUTDOWN)
        elif running.stop_reason is not None:
            ending = Cancelled()
        else:
            ending = Completed(filename=None, ext=None, filesize=None, thumbnail_file=None)
        outcome = running.stop_reason.name if running.stop_reason else "done"
        try:
            await self._store.apply(task_id, ending, attempt=attempt)
        except TransitionRefused:
            outcome = "lost"  # the task moved on without this run
        await self._log.end_run(run_id, outcome)


class Interruptions:
    """The `on_interrupted` callback: the store takes back a lost run's task."""

    def __init__(self, store: TaskStore, log: RunLog) -> None:
        self._store = store
        self._log = log

    async def __call__(self, task_id: str, *, cancel_requested: bool) -> None:
        await self._log.record(
            "on_interrupted", task_id, "cancel" if cancel_requested else "requeue"
        )
        transition = Cancelled() if cancel_requested else Requeued(RequeueReason.INTERRUPTED)
        await self._store.apply(task_id, transition)
