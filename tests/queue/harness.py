"""Real procrastinate queues and workers, and the real PostgreSQL store, on the test's
database, around the doubles; and a deadline poll."""

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from offlinetube_api.config import Settings
from offlinetube_api.queue.procrastinate_queue import ProcrastinateQueue
from offlinetube_api.queue.worker import ProcrastinateWorker
from offlinetube_api.store import PostgresTaskStore
from tests.queue.doubles import Interruptions, RecordingRunner, RunLog

REPO = Path(__file__).resolve().parents[2]


@dataclass
class QueueSide:
    store: PostgresTaskStore
    log: RunLog
    queue: ProcrastinateQueue


@dataclass
class WorkerSide(QueueSide):
    worker: ProcrastinateWorker


@asynccontextmanager
async def api_queue(database_url: str) -> AsyncIterator[QueueSide]:
    store = PostgresTaskStore(database_url)
    await store.open()
    log = RunLog(database_url)
    await log.open()
    queue = ProcrastinateQueue(database_url=database_url, store=store)
    try:
        await queue.start()
        try:
            yield QueueSide(store, log, queue)
        finally:
            await queue.close()
    finally:
        await log.close()
        await store.close()


def make_worker(
    side: QueueSide, *, concurrency: int, shutdown_timeout: float
) -> ProcrastinateWorker:
    return ProcrastinateWorker(
        queue=side.queue,
        store=side.store,
        runner=RecordingRunner(side.store, side.log),
        on_interrupted=Interruptions(side.store, side.log),
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
            yield WorkerSide(side.store, side.log, side.queue, worker)
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
