"""Test doubles of what the queue drives, kept in the test's PostgreSQL database so that worker
processes and the test share them: a task table standing in for the store (the few calls the
queue makes), a runner that records each run and holds it until released or stopped, and the
`on_interrupted` callback. The queue and procrastinate around them are the real ones."""

import asyncio
import os
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from offlinetube_api.models import Task, TaskStatus
from offlinetube_api.transitions import TransitionName, TransitionRefused
from offlinetube_api.worker.manager import RunningDownload
from offlinetube_api.worker.outcomes import StopReason

SCHEMA = """
CREATE TABLE IF NOT EXISTS queue_test_tasks (
    id text PRIMARY KEY,
    status text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    released boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
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
"""

POLL_S = 0.02


class TaskTable:
    """The store's calls the queue makes (get, with_status, count, prune_events), over a
    table of task ids and statuses; and what the test needs to set them up and read them."""

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

    async def add(self, task_id: str, status: TaskStatus = TaskStatus.QUEUED) -> None:
        await self._execute(
            "INSERT INTO queue_test_tasks (id, status) VALUES (%s, %s)", task_id, status
        )

    async def set_status(self, task_id: str, status: TaskStatus, *, attempts: int) -> None:
        await self._execute(
            "UPDATE queue_test_tasks SET status = %s, attempts = %s WHERE id = %s",
            status,
            attempts,
            task_id,
        )

    async def release(self, task_id: str) -> None:
        await self._execute("UPDATE queue_test_tasks SET released = true WHERE id = %s", task_id)

    async def released(self, task_id: str) -> bool:
        rows = await self._rows("SELECT released FROM queue_test_tasks WHERE id = %s", task_id)
        return bool(rows and rows[0]["released"])

    async def get(self, task_id: str) -> Task | None:
        rows = await self._rows("SELECT * FROM queue_test_tasks WHERE id = %s", task_id)
        return _task(rows[0]) if rows else None

    async def with_status(self, statuses: Iterable[TaskStatus]) -> list[Task]:
        rows = await self._rows(
            "SELECT * FROM queue_test_tasks WHERE status = ANY(%s) ORDER BY created_at",
            [str(status) for status in statuses],
        )
        return [_task(row) for row in rows]

    async def count(self, statuses: Iterable[TaskStatus]) -> int:
        return len(await self.with_status(statuses))

    async def prune_events(self, *, keep: int, max_age: timedelta) -> int:
        await self.record("prune_events", None, f"{keep} {max_age.total_seconds():.0f}")
        return 0

    async def requeue_interrupted(self, task_id: str, *, cancel_requested: bool) -> None:
        """The `on_interrupted` callback: a running task goes back to queued (or is
        cancelled); anything else is refused, as the store refuses the transition."""
        status = TaskStatus.CANCELLED if cancel_requested else TaskStatus.QUEUED
        rows = await self._rows(
            "UPDATE queue_test_tasks SET status = %s WHERE id = %s"
            " AND status IN ('downloading', 'processing') RETURNING id",
            status,
            task_id,
        )
        await self.record("on_interrupted", task_id, status)
        if not rows:
            task = await self.get(task_id)
            raise TransitionRefused(
                task_id, TransitionName.REQUEUED, task.status if task else TaskStatus.CANCELLED
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

    async def runs(self, task_id: str | None = None) -> list[dict[str, Any]]:
        return await self._rows(
            "SELECT * FROM queue_test_runs WHERE %(task)s::text IS NULL OR task_id = %(task)s"
            " ORDER BY id",
            task=task_id,
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

    async def _execute(self, query: Any, *args: Any, **kwargs: Any) -> None:
        async with self._pool.connection() as connection:
            await connection.execute(query, kwargs or args or None)

    async def _rows(self, query: Any, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        async with self._pool.connection() as connection:
            cursor = await connection.execute(query, kwargs or args or None)
            return await cursor.fetchall() if cursor.description else []


def _task(row: dict[str, Any]) -> Task:
    return Task(
        id=row["id"],
        url=f"https://example.com/{row['id']}",
        format=None,
        status=TaskStatus(row["status"]),
        created_at=row["created_at"] or datetime.now(UTC),
        attempts=row["attempts"],
    )


class RecordingRunner:
    """Runs a queued task like the real runner's bookkeeping does (started, then settled by
    how it ended), recording each run (a task that is not queued is `skipped`); the run lasts
    until the test releases the task or a stop reaches it."""

    def __init__(self, tasks: TaskTable) -> None:
        self._tasks = tasks

    async def run(self, task_id: str, running: RunningDownload) -> None:
        run_id = await self._tasks.start_run(task_id)
        task = await self._tasks.get(task_id)
        if task is None or task.status is not TaskStatus.QUEUED:
            await self._tasks.end_run(run_id, "skipped")
            return
        await self._tasks.set_status(task_id, TaskStatus.DOWNLOADING, attempts=task.attempts + 1)
        # A "stubborn" task ignores stops, as a download that hangs would: only a release
        # or the cancellation of the run ends it.
        stubborn = task_id.startswith("stubborn")
        while (stubborn or running.stop_reason is None) and not await self._tasks.released(task_id):
            await asyncio.sleep(POLL_S)
        settled = {
            None: TaskStatus.COMPLETED,
            StopReason.CANCEL: TaskStatus.CANCELLED,
            StopReason.REMOVE: TaskStatus.CANCELLED,
            StopReason.SHUTDOWN: TaskStatus.QUEUED,
        }[running.stop_reason]
        await self._tasks.set_status(task_id, settled, attempts=task.attempts + 1)
        await self._tasks.end_run(
            run_id, running.stop_reason.name if running.stop_reason else "done"
        )
