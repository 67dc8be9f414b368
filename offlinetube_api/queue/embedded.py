"""The embedded job queue: tasks wait in this process and run in its own download slots
(`OFFLINETUBE_MAX_CONCURRENT_DOWNLOADS`). Nothing is shared with another process; what a
crash leaves behind is found in the store at the next start (worker/recovery.py)."""

import asyncio

from offlinetube_api.models import TaskStatus
from offlinetube_api.ports import QueueFigures, TaskStore
from offlinetube_api.worker.outcomes import StopReason
from offlinetube_api.worker.runner import RunningDownload, TaskRunner
from offlinetube_api.worker.waiting import WaitingQueue


class EmbeddedQueue:
    """ports.JobQueue in one process, with its workers."""

    def __init__(self, *, store: TaskStore, slots: int, shutdown_timeout_s: float) -> None:
        self._store = store
        self._slots = slots
        self._shutdown_timeout_s = shutdown_timeout_s
        self._waiting = WaitingQueue()
        self._running: dict[str, RunningDownload] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._closing = False

    async def start(self, runner: TaskRunner) -> None:
        """Queues the tasks the store has `queued` (oldest first), then starts the workers."""
        for task in await self._store.with_status([TaskStatus.QUEUED]):
            self._waiting.put(task.id)
        self._workers = [
            asyncio.create_task(self._work(runner), name=f"download-worker-{n}")
            for n in range(self._slots)
        ]

    async def enqueue(self, task_id: str, *, delay_s: float = 0.0) -> None:
        if delay_s > 0:
            self._waiting.put_later(task_id, delay_s)
        else:
            self._waiting.put(task_id)

    async def withdraw(self, task_id: str) -> bool:
        return self._waiting.discard(task_id)

    async def abort(self, task_id: str) -> None:
        running = self._running.get(task_id)
        if running:
            running.stop(StopReason.CANCEL)
            await running.done.wait()

    async def figures(self) -> QueueFigures:
        return QueueFigures(
            queued=len(self._waiting), running=len(self._running), max_concurrent=self._slots
        )

    async def close(self) -> None:
        """Stop taking work, stop running downloads and put them back in the queue, so the
        next start resumes them; waits up to `shutdown_timeout_s` for them to settle."""
        self._closing = True
        stopping = list(self._running.values())
        for running in stopping:
            running.stop(StopReason.SHUTDOWN)
        if stopping:
            waits = [asyncio.create_task(running.done.wait()) for running in stopping]
            _, late = await asyncio.wait(waits, timeout=self._shutdown_timeout_s)
            for wait in late:
                wait.cancel()
        # Whatever a worker was doing now is either settled or safe to redo at the next start.
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    async def _work(self, runner: TaskRunner) -> None:
        while not self._closing:
            task_id = await self._waiting.get()
            # Registered before any await, so a cancel from now on finds it and stops it.
            running = self._running[task_id] = RunningDownload()
            try:
                await runner.run(task_id, running)  # raises no Exception: see TaskRunner.run
            finally:
                # A playlist's first task is queued again from inside its own run, and another
                # worker may have taken it (and registered itself) already.
                if self._running.get(task_id) is running:
                    del self._running[task_id]
                running.done.set()
