"""DownloadService: what the API asks of downloads (ports.Downloads), the same in both modes,
on top of a TaskStore and a JobQueue: duplicates, the queue cap, cancel, retry, removal."""

import asyncio
import contextlib
import time

from offlinetube_api import media, task_log
from offlinetube_api.config import Settings
from offlinetube_api.cookie_sets import CookieSets
from offlinetube_api.errors import (
    PlaylistNotFound,
    QueueFull,
    TaskConflict,
    TaskNotFound,
    UnknownCookieSet,
)
from offlinetube_api.models import DownloadOrder, Task, TaskStatus
from offlinetube_api.ports import JobQueue, QueueFigures, Submission, TaskStore
from offlinetube_api.transitions import Cancelled, Requeued, RequeueReason, TransitionRefused
from offlinetube_api.worker.existing import ExistingDownloads
from offlinetube_api.worker.ledger import TaskLedger, new_task

# How often a cancel or a removal looks whether the worker (on any host) has settled the task.
_SETTLE_POLL_S = 0.05
# A task that is queued in the store but that no worker holds is cancelled here after this.
_UNCLAIMED_AFTER_S = 1.0


class DownloadService:
    def __init__(
        self,
        *,
        store: TaskStore,
        ledger: TaskLedger,
        queue: JobQueue,
        settings: Settings,
        cookies: CookieSets,
    ) -> None:
        self._cookies = cookies
        self._store = store
        self._ledger = ledger
        self._queue = queue
        self._settings = settings
        self.existing = ExistingDownloads(
            store=store, ledger=ledger, downloads_dir=settings.downloads_dir
        )

    async def submit(self, order: DownloadOrder, *, force: bool = False) -> Submission:
        """A new queued task, or the task(s) an earlier POST of the same order made. Raises
        QueueFull (a 503) when `OFFLINETUBE_MAX_QUEUED` tasks already wait, UnknownCookieSet
        (a 422) when the order names a cookie set there is none of."""
        if order.cookies is not None and not await self._cookies.exists(order.cookies):
            raise UnknownCookieSet(order.cookies)
        task = new_task(order)
        max_queued = self._settings.max_queued
        if force:
            # Counted where it is inserted: forced POSTs at once never pass the cap together.
            await self._ledger.add(task, max_queued=max_queued)
        else:
            # The store looks and inserts in one go: of POSTs at once, one makes the task.
            found = await self._ledger.add_unless_same(task, max_queued=max_queued)
            if found is not None:
                return await self._answer_existing(await self.existing.made_along(found, order.url))
        await self._queue.enqueue(task.id)
        return Submission(task, queued=True)

    async def cancel(self, task_id: str) -> Task:
        """Raises TaskNotFound, or TaskConflict (a 409) for a task that already ended."""
        task = await self._ledger.get(task_id)
        if task.status.is_final:
            raise TaskConflict(f"Task {task_id!r} is already {task.status}; nothing to cancel")
        stopped = await self._stop(task_id)
        if stopped.status is TaskStatus.COMPLETED:  # it finished before the stop reached it
            raise TaskConflict(f"Task {task_id!r} completed before it could be cancelled")
        return stopped

    async def retry(self, task_id: str) -> Task:
        """Raises TaskNotFound, TaskConflict unless failed or cancelled, or QueueFull."""
        task = await self._ledger.get(task_id)
        if task.status not in (TaskStatus.FAILED, TaskStatus.CANCELLED):
            raise TaskConflict(
                f"Task {task_id!r} is {task.status}; only failed or cancelled tasks can be retried"
            )
        await self._check_room(1)
        try:
            retried = await self._ledger.apply(task_id, Requeued(RequeueReason.RETRIED))
        except TransitionRefused as refused:
            raise TaskConflict(f"Task {task_id!r} is {refused.status}; retry it later") from None
        if retried is None:
            raise TaskNotFound(task_id)
        await self._queue.enqueue(task_id)
        return retried

    async def cancel_playlist(self, playlist_id: str) -> int:
        """How many unfinished tasks of the playlist were cancelled; raises PlaylistNotFound."""
        tasks = await self._store.in_playlist(playlist_id)
        if not tasks:
            raise PlaylistNotFound(playlist_id)
        alive = [task for task in tasks if not task.status.is_final]
        for task in alive:
            await self._stop(task.id)
        return len(alive)

    async def remove(self, task_id: str) -> None:
        """Delete the task's record, stop its download if one runs (on any host), then delete
        its files. Raises TaskNotFound. The record goes first, so a run being stopped finds
        its task gone and writes nothing more: no `cancelled` state, only `removed`."""
        await self._queue.withdraw(task_id)
        # Of two removals at once, only one deletes the record; the other is a 404.
        if not await self._ledger.remove(task_id):
            raise TaskNotFound(task_id)
        await self._queue.abort(task_id)
        await asyncio.to_thread(
            media.remove_task_files,
            self._settings.downloads_dir,
            self._settings.thumbnails_dir,
            task_id,
        )

    async def queue_figures(self) -> QueueFigures:
        return await self._queue.figures()

    async def _check_room(self, tasks: int) -> None:
        queued = await self._store.count([TaskStatus.QUEUED])
        if queued + tasks > self._settings.max_queued:
            raise QueueFull(self._settings.max_queued)

    async def _answer_existing(self, tasks: list[Task]) -> Submission:
        """The first of the tasks a POST made before. Those whose file was deleted are
        downloaded again under their own ids, so links to them keep working."""
        gone = await self.existing.without_file(tasks)
        if gone:
            await self._check_room(len(gone))
        queued = False
        for task in gone:
            try:
                await self._ledger.apply(task.id, Requeued(RequeueReason.FILE_MISSING))
            except TransitionRefused:
                continue  # another POST queued it again just now: its answer is the 202
            await self._queue.enqueue(task.id)
            queued = True
        first = await self._ledger.get(tasks[0].id)
        return Submission(first, queued=queued)

    async def _stop(self, task_id: str) -> Task:
        """Takes the task off the queue, or has its worker kill it; returns it once it has
        ended (cancelled, or completed when the stop came too late). A cancel is logged here,
        by the process that was asked for it, whichever process ran the download."""
        if await self._queue.withdraw(task_id):
            await self._cancel_unclaimed(task_id)
        await self._queue.abort(task_id)
        deadline = time.monotonic() + self._settings.shutdown_timeout + _UNCLAIMED_AFTER_S
        unclaimed_at = time.monotonic() + _UNCLAIMED_AFTER_S
        while True:
            task = await self._ledger.get(task_id)
            if task.status.is_final:
                if task.status is TaskStatus.CANCELLED:
                    task_log.cancelled(task)
                return task
            now = time.monotonic()
            if task.status is TaskStatus.QUEUED and now >= unclaimed_at:
                # No worker holds it (its job was lost, or it waits for a retry elsewhere).
                await self._cancel_unclaimed(task_id)
                continue
            if now >= deadline:
                raise TaskConflict(f"Task {task_id!r} did not stop in time; try again")
            await asyncio.sleep(_SETTLE_POLL_S)

    async def _cancel_unclaimed(self, task_id: str) -> None:
        # A worker that took it meanwhile refuses this: the abort reaches it there.
        with contextlib.suppress(TransitionRefused):
            await self._ledger.apply(task_id, Cancelled())
