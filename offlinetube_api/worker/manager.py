"""DownloadManager: the queue, the concurrency cap, the life cycle of each download, retries,
playlists, recovery after a crash and a clean shutdown."""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Protocol

from offlinetube_api import media
from offlinetube_api.config import Settings, TranscodeMode
from offlinetube_api.errors import (
    PlaylistNotFound,
    QueueFull,
    StoreUnavailable,
    TaskConflict,
    TaskNotFound,
)
from offlinetube_api.events import TaskEvents
from offlinetube_api.ffmpeg import FfmpegBinary
from offlinetube_api.models import DownloadOrder, ErrorKind, Task, TaskStatus
from offlinetube_api.schemas import QueueInfo
from offlinetube_api.store import TaskStore
from offlinetube_api.webhooks import WebhookNotifier
from offlinetube_api.worker import process_groups
from offlinetube_api.worker.existing import ExistingDownloads
from offlinetube_api.worker.ledger import TaskLedger, cancelled, fresh_attempt, new_task, now
from offlinetube_api.worker.messages import DownloadJob, Failed, Finished, Outcome, PlaylistFound
from offlinetube_api.worker.outcomes import (
    OutcomeRecorder,
    StopReason,
    keeps_partial_files,
    may_run_again,
)
from offlinetube_api.worker.process import DownloadProcess
from offlinetube_api.worker.process_groups import ProcessGroup
from offlinetube_api.worker.waiting import WaitingQueue

logger = logging.getLogger(__name__)

# How long a start-up waits for a killed process group of the previous run to disappear.
LEFTOVER_GROUP_DEADLINE_S = 5.0


@dataclass(frozen=True, slots=True)
class Submission:
    task: Task
    # False: the same download already existed and is returned as it is. True: a new task, or
    # an existing one queued again under its id because its file was gone.
    queued: bool


class Downloads(Protocol):
    """What the API needs from a download queue; a distributed one would implement the same."""

    async def submit(self, order: DownloadOrder, *, force: bool = False) -> Submission: ...

    async def cancel(self, task_id: str) -> Task: ...

    async def retry(self, task_id: str) -> Task: ...

    async def cancel_playlist(self, playlist_id: str) -> int: ...

    async def remove(self, task_id: str) -> None: ...

    def queue_info(self) -> QueueInfo: ...


class RunningDownload:
    """A task a worker has taken off the queue, from that moment until it is settled."""

    def __init__(self) -> None:
        self.process: DownloadProcess | None = None
        self.stop_reason: StopReason | None = None
        self.done = asyncio.Event()

    def stop(self, reason: StopReason) -> None:
        self.stop_reason = self.stop_reason or reason
        if self.process:
            self.process.kill()


class DownloadManager:
    def __init__(
        self,
        *,
        store: TaskStore,
        settings: Settings,
        ffmpeg: FfmpegBinary,
        events: TaskEvents,
        notifier: WebhookNotifier | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._ffmpeg = ffmpeg
        self._ledger = TaskLedger(store=store, events=events, notifier=notifier)
        self._waiting = WaitingQueue()
        self._outcomes = OutcomeRecorder(
            ledger=self._ledger, waiting=self._waiting, settings=settings
        )
        self._existing = ExistingDownloads(
            store=store, ledger=self._ledger, downloads_dir=settings.downloads_dir
        )
        self._running: dict[str, RunningDownload] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._closing = False

    # -- public interface -------------------------------------------------------------------

    async def start(self) -> None:
        await self._existing.check_files()
        await self._recover()
        self._workers = [
            asyncio.create_task(self._work(), name=f"download-worker-{n}")
            for n in range(self._settings.max_concurrent_downloads)
        ]

    async def submit(self, order: DownloadOrder, *, force: bool = False) -> Submission:
        if not force:
            existing = await self._existing.same_download(order)
            if existing:
                return await self._answer_existing(existing)
        self._check_room(1)
        task = new_task(order)
        await self._add(task)
        return Submission(task, queued=True)

    async def cancel(self, task_id: str) -> Task:
        task = await self._ledger.get(task_id)
        if task.status.is_final:
            raise TaskConflict(f"Task {task_id!r} is already {task.status}; nothing to cancel")
        await self._stop(task_id, StopReason.CANCEL)
        stopped = await self._ledger.get(task_id)
        if stopped.status is TaskStatus.COMPLETED:  # it finished before the stop reached it
            raise TaskConflict(f"Task {task_id!r} completed before it could be cancelled")
        return stopped

    async def retry(self, task_id: str) -> Task:
        task = await self._ledger.get(task_id)
        if task.status not in (TaskStatus.FAILED, TaskStatus.CANCELLED):
            raise TaskConflict(
                f"Task {task_id!r} is {task.status}; only failed or cancelled tasks can be retried"
            )
        self._check_room(1)
        retried = await self._ledger.save(task_id, **fresh_attempt(TaskStatus.QUEUED), attempts=0)
        self._waiting.put(task_id)
        return retried or task

    async def cancel_playlist(self, playlist_id: str) -> int:
        tasks = await self._store.in_playlist(playlist_id)
        if not tasks:
            raise PlaylistNotFound(playlist_id)
        alive = [task for task in tasks if not task.status.is_final]
        for task in alive:
            await self._stop(task.id, StopReason.CANCEL)
        return len(alive)

    async def remove(self, task_id: str) -> None:
        """Stop the task if it runs, delete its files and its record."""
        await self._ledger.get(task_id)
        self._waiting.discard(task_id)
        running = self._running.get(task_id)
        if running:
            running.stop(StopReason.REMOVE)
            await running.done.wait()
        await asyncio.to_thread(
            media.remove_task_files,
            self._settings.downloads_dir,
            self._settings.thumbnails_dir,
            task_id,
        )
        # Of two removals at once, both get this far; the record goes only once.
        if not await self._ledger.delete(task_id):
            raise TaskNotFound(task_id)

    def queue_info(self) -> QueueInfo:
        return QueueInfo(
            queued=len(self._waiting),
            running=len(self._running),
            max_concurrent=self._settings.max_concurrent_downloads,
        )

    async def shutdown(self) -> None:
        """Stop taking work, stop running downloads and put them back in the queue, so the
        next start resumes them."""
        self._closing = True
        stopping = list(self._running.values())
        for running in stopping:
            running.stop(StopReason.SHUTDOWN)
        if stopping:
            waits = [asyncio.create_task(running.done.wait()) for running in stopping]
            _, late = await asyncio.wait(waits, timeout=self._settings.shutdown_timeout / 2)
            for wait in late:
                wait.cancel()
        # Whatever a worker was doing now is either settled or safe to redo at the next start.
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    # -- queue ------------------------------------------------------------------------------

    def _check_room(self, tasks: int) -> None:
        if len(self._waiting) + tasks > self._settings.max_queued:
            raise QueueFull(self._settings.max_queued)

    async def _answer_existing(self, tasks: list[Task]) -> Submission:
        """The first of the tasks a POST made before. Those whose file was deleted are
        downloaded again under their own ids, so links to them keep working."""
        gone = await self._existing.without_file(tasks)
        if gone:
            self._check_room(len(gone))
        for task in gone:
            await self._ledger.save(
                task.id,
                **fresh_attempt(TaskStatus.QUEUED),
                attempts=0,
                filename=None,
                filesize=None,
                ext=None,
            )
            self._waiting.put(task.id)
        first = await self._ledger.get(tasks[0].id)
        return Submission(first, queued=bool(gone))

    async def _add(self, task: Task) -> None:
        await self._ledger.add(task)
        self._waiting.put(task.id)

    async def _stop(self, task_id: str, reason: StopReason) -> None:
        """Take a task off the queue, or stop it if it runs; it ends cancelled either way."""
        if self._waiting.discard(task_id):
            await self._ledger.save(task_id, **cancelled())
        running = self._running.get(task_id)
        if running:
            running.stop(reason)
            await running.done.wait()

    async def _recover(self) -> None:
        """Requeue what a crash or a restart left behind, oldest first. Nothing of a previous
        run may still be alive; partial files are kept for tasks that can run again."""
        interrupted = await self._store.with_status([TaskStatus.DOWNLOADING, TaskStatus.PROCESSING])
        for task in interrupted:
            if await self._previous_run_ended(task):
                await self._ledger.save(task.id, **fresh_attempt(TaskStatus.QUEUED))
                logger.info("task %s was interrupted; it is queued again", task.id)
        await self._sweep_partial_files()
        for task in await self._store.with_status([TaskStatus.QUEUED]):
            self._waiting.put(task.id)

    async def _previous_run_ended(self, task: Task) -> bool:
        """Kill what is left of the task's last download process group, if anything; a group
        that will not die fails the task rather than have two runs write the same files."""
        if task.process_group is None or task.process_started is None:
            return True
        group = ProcessGroup(pgid=task.process_group, started=task.process_started)
        if await process_groups.end(group, deadline_s=LEFTOVER_GROUP_DEADLINE_S):
            return True
        await self._ledger.save(
            task.id,
            status=TaskStatus.FAILED,
            error=f"its download process group {group.pgid} from before the restart would not "
            "stop; retry once it is gone",
            error_kind=ErrorKind.UNKNOWN,
            finished_at=now(),
        )
        return False

    async def _sweep_partial_files(self) -> None:
        """Nothing runs yet: partial files of tasks that are gone, done or cancelled go."""
        downloads = self._settings.downloads_dir
        leftovers = []
        for name in await asyncio.to_thread(media.partial_folder_names, downloads):
            task = await self._store.get(name) if media.is_task_id(name) else None
            if task is None or not may_run_again(task):
                leftovers.append(name)
        await asyncio.to_thread(media.remove_partial_folders, downloads, leftovers)

    async def _work(self) -> None:
        while not self._closing:
            task_id = await self._waiting.get()
            # Registered before any await, so a removal from now on finds it and stops it.
            running = self._running[task_id] = RunningDownload()
            try:
                await self._run(task_id, running)
            except Exception:  # one broken task must not take a worker with it
                logger.exception("task %s failed inside the manager", task_id)
                # A failing database fails this save too; the health route reports it.
                with contextlib.suppress(StoreUnavailable):
                    await self._ledger.save(
                        task_id,
                        status=TaskStatus.FAILED,
                        error="internal error",
                        error_kind=ErrorKind.UNKNOWN,
                        finished_at=now(),
                    )
            finally:
                # A playlist's first task is queued again from inside its own run, and another
                # worker may have taken it (and registered itself) already.
                if self._running.get(task_id) is running:
                    del self._running[task_id]
                running.done.set()

    # -- one download -----------------------------------------------------------------------

    def _job(self, task: Task) -> DownloadJob:
        downloads = self._settings.downloads_dir.resolve()
        return DownloadJob(
            task_id=task.id,
            url=task.url,
            format=task.format,
            downloads_dir=str(downloads),
            thumbnails_dir=str(self._settings.thumbnails_dir.resolve()),
            partial_dir=str(media.partial_dir(downloads, task.id)),
            ffmpeg_path=self._ffmpeg.path,
            audio_format=task.audio_format,
            subtitle_langs=task.subtitle_langs,
            min_free_bytes=self._settings.min_free_bytes,
            playlist_limit=None if task.playlist_id else self._settings.playlist_limit,
            page_item=task.page_item,
            allow_private_urls=self._settings.allow_private_urls,
            transcode_unplayable=self._settings.transcode is TranscodeMode.AUTO,
            allowed_networks=tuple(map(str, self._settings.allow_private_networks)),
            max_filesize=self._settings.max_filesize,
        )

    async def _run(self, task_id: str, running: RunningDownload) -> None:
        task = await self._store.get(task_id)
        if task is None or task.status is not TaskStatus.QUEUED:
            return
        if running.stop_reason:  # stopped before it started
            await self._outcomes.settle(task, None, running.stop_reason, exit_code=None)
            return
        process = running.process = DownloadProcess(self._job(task))
        outcome: Outcome | None = None
        try:
            await self._ledger.save(
                task_id,
                **fresh_attempt(TaskStatus.DOWNLOADING, started_at=now()),
                attempts=task.attempts + 1,
            )
            if running.stop_reason is None:
                await process.start()
                await self._remember_group(task_id, process)
                if running.stop_reason is not None:
                    process.kill()  # stopped while it was starting
                async for report in process.reports():
                    if isinstance(report, Finished | Failed | PlaylistFound):
                        outcome = report
                    else:
                        await self._outcomes.record(task, report)
        finally:
            process.kill()
            exit_code = await process.wait()
            if not keeps_partial_files(outcome, running.stop_reason):
                await asyncio.to_thread(
                    media.remove_partial_files, self._settings.downloads_dir, task_id
                )
            await self._outcomes.settle(task, outcome, running.stop_reason, exit_code)

    async def _remember_group(self, task_id: str, process: DownloadProcess) -> None:
        """Saved for the next start (see _previous_run_ended); bookkeeping nobody watches, so
        straight to the store, without an event."""
        group = (
            await asyncio.to_thread(process_groups.group_of, process.pid) if process.pid else None
        )
        if group:
            await self._store.update(
                task_id, process_group=group.pgid, process_started=group.started
            )
