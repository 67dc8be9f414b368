"""The queue of tasks waiting for a download slot: FIFO, with removal and delayed entry."""

import asyncio


class WaitingQueue:
    """Ids wait here in order. One can be taken out at any time (cancel, remove), and one can
    be put back after a delay (a retry with back-off): it counts as waiting meanwhile."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._waiting: dict[str, asyncio.TimerHandle | None] = {}

    def __len__(self) -> int:
        return len(self._waiting)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._waiting

    def put(self, task_id: str) -> None:
        """In line now; a delay it was put back with is dropped (its turn came early)."""
        timer = self._waiting.get(task_id)
        if timer:
            timer.cancel()
        self._waiting[task_id] = None
        self._queue.put_nowait(task_id)

    def put_later(self, task_id: str, delay_s: float) -> None:
        loop = asyncio.get_running_loop()
        self._waiting[task_id] = loop.call_later(delay_s, self._due, task_id)

    def _due(self, task_id: str) -> None:
        if task_id in self._waiting:
            self.put(task_id)

    def discard(self, task_id: str) -> bool:
        """Take a task out; False if it was not waiting."""
        if task_id not in self._waiting:
            return False
        timer = self._waiting.pop(task_id)
        if timer:
            timer.cancel()
        return True

    async def get(self) -> str:
        """The next id whose turn has come. Entries of ids taken out since, or put back
        with a delay that has not run out, are stale and skipped."""
        while True:
            task_id = await self._queue.get()
            if task_id in self._waiting and self._waiting[task_id] is None:
                del self._waiting[task_id]
                return task_id
