"""Real procrastinate queues and workers on the test's database, around the doubles; and a
deadline poll."""

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from offlinetube_api.config import Settings
from offlinetube_api.ports import TaskStore
from offlinetube_api.queue.procrastinate_queue import ProcrastinateQueue
from offlinetube_api.queue.worker import ProcrastinateWorker
from tests.queue.doubles import RecordingRunner, TaskTable

REPO = Path(__file__).resolve().parents[2]


@dataclass
class QueueSide:
    tasks: TaskTable
    queue: ProcrastinateQueue


@dataclass
class WorkerSide(QueueSide):
    worker: ProcrastinateWorker


@asynccontextmanager
async def api_queue(database_url: str) -> AsyncIterator[QueueSide]:
    tasks = TaskTable(database_url)
    await tasks.open()
    queue = ProcrastinateQueue(database_url=database_url, store=cast(TaskStore, tasks))
    await queue.start()
    try:
        yield QueueSide(tasks, queue)
    finally:
        await queue.close()
        await tasks.close()


def make_worker(
    side: QueueSide, *, concurrency: int, shutdown_timeout: float
) -> ProcrastinateWorker:
    return ProcrastinateWorker(
        queue=side.queue,
        store=cast(TaskStore, side.tasks),
        runner=RecordingRunner(side.tasks),
        on_interrupted=side.tasks.requeue_interrupted,
        concurrency=concurrency,
        settings=Settings(shutdown_timeout=shutdown_timeout),
    )


@asynccontextmanager
async def worker_in_process(
    database_url: str, *, concurrency: int = 2, shutdown_timeout: float = 4.0
) -> AsyncIterator[WorkerSide]:
    async with api_queue(database_url) as side:
        worker = make_worker(side, concurrency=concurrency, shutdown_timeout=shutdown_timeout)
        await worker.start()
        try:
            yield WorkerSide(side.tasks, side.queue, worker)
        finally:
            await worker.close()


def worker_command(database_url: str, concurrency: int) -> list[str]:
    """A worker in a process of its own (tests/queue/worker_process.py), run from the repo."""
    return [sys.executable, "-m", "tests.queue.worker_process", database_url, str(concurrency)]


async def wait_until(
    condition: Callable[[], Awaitable[bool]], *, within_s: float, what: str
) -> float:
    """Polls `condition` until it holds; returns the seconds it took. Fails the test when it
    does not hold within `within_s`."""
    start = time.monotonic()
    while not await condition():
        if time.monotonic() - start > within_s:
            raise AssertionError(f"not within {within_s} s: {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - start
