"""DownloadManager: the FIFO queue, the concurrency cap, the life cycle of each download,
recovery after a crash and a clean shutdown."""

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from enum import Enum, auto
from typing import Any, Protocol

from offlinetube_api import media
from offlinetube_api.config import Settings
from offlinetube_api.errors import TaskNotFound
from offlinetube_api.events import TaskEvents
from offlinetube_api.ffmpeg import FfmpegBinary
from offlinetube_api.models import QueueInfo, Task, TaskStatus
from offlinetube_api.store import TaskStore
from offlinetube_api.webhooks import WebhookNotifier
from offlinetube_api.worker.messages import DownloadJob, Failed, Finished, Metadata, Progress, Stage
from offlinetube_api.worker.process import DownloadProcess

logger = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 5.0


class Downloads(Protocol):
    """What the API needs from a download queue; a distributed one would implement the same."""

    async def submit(self, *, url: str, format: str | None) -> Task: ...

    async def remove(self, task_id: str) -> None: ...

    def queue_info(self) -> QueueInfo: ...


class StopReason(Enum):
    CANCEL = auto()
    SHUTDOWN = auto()


def _now() -> datetime:
    return datetime.now(UTC)


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
        self._events = events
        self._notifier = notifier
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._waiting: dict[str, None] = {}  # queued ids in order; removal drops them here
        self._running: dict[str, RunningDownload] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._closing = False

    # -- public interface -------------------------------------------------------------------

    async def start(self) -> None:
        await self._recover()
        self._workers = [
            asyncio.create_task(self._work(), name=f"download-worker-{n}")
            for n in range(self._settings.max_concurrent_downloads)
        ]

    async def submit(self, *, url: str, format: str | None) -> Task:
        task = Task(
            id=str(uuid.uuid4()),
            url=url,
            format=format,
            status=TaskStatus.QUEUED,
            created_at=_now(),
        )
        await self._store.add(task)
        self._events.publish(task)
        self._enqueue(task.id)
        return task

    async def remove(self, task_id: str) -> None:
        """Stop the task if it runs, delete its files and its record."""
        if await self._store.get(task_id) is None:
            raise TaskNotFound(task_id)
        self._waiting.pop(task_id, None)
        running = self._running.get(task_id)
        if running:
            running.stop(StopReason.CANCEL)
            await running.done.wait()
        await asyncio.to_thread(
            media.remove_task_files,
            self._settings.downloads_dir,
            self._settings.thumbnails_dir,
            task_id,
        )
        await self._store.delete(task_id)
        self._events.publish_removed(task_id)

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
            _, still_running = await asyncio.wait(waits, timeout=SHUTDOWN_GRACE_S)
            for wait in still_running:
                wait.cancel()
        # Whatever a worker was doing now is either settled or safe to redo at the next start.
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    # -- queue ------------------------------------------------------------------------------

    def _enqueue(self, task_id: str) -> None:
        self._waiting[task_id] = None
        self._queue.put_nowait(task_id)

    async def _recover(self) -> None:
        """Requeue what a crash or a restart left behind, oldest first, with clean folders."""
        # Nothing runs yet, so every partial file is a leftover, whether its task survives or not.
        await asyncio.to_thread(media.remove_all_partial_files, self._settings.downloads_dir)
        interrupted = await self._store.with_status([TaskStatus.DOWNLOADING, TaskStatus.PROCESSING])
        for task in interrupted:
            await self._save(task.id, **_fresh_attempt(TaskStatus.QUEUED))
            logger.info("task %s was interrupted; it is queued again", task.id)
        for task in await self._store.with_status([TaskStatus.QUEUED]):
            self._enqueue(task.id)

    async def _work(self) -> None:
        while not self._closing:
            task_id = await self._queue.get()
            if task_id not in self._waiting:
                continue  # removed while it waited
            del self._waiting[task_id]
            # Registered before any await, so a removal from now on finds it and stops it.
            running = self._running[task_id] = RunningDownload()
            try:
                await self._run(task_id, running)
            except Exception:  # one broken task must not take a worker with it
                logger.exception("task %s failed inside the manager", task_id)
                await self._save(
                    task_id, status=TaskStatus.FAILED, error="internal error", finished_at=_now()
                )
            finally:
                del self._running[task_id]
                running.done.set()

    # -- one download -----------------------------------------------------------------------

    def _job(self, task: Task) -> DownloadJob:
        downloads = self._settings.downloads_dir.resolve()
        partial = media.partial_dir(downloads, task.id)
        return DownloadJob(
            task_id=task.id,
            url=task.url,
            format=task.format,
            downloads_dir=str(downloads),
            thumbnails_dir=str(self._settings.thumbnails_dir.resolve()),
            partial_dir=str(partial),
            ffmpeg_path=self._ffmpeg.path,
        )

    async def _run(self, task_id: str, running: RunningDownload) -> None:
        task = await self._store.get(task_id)
        if task is None or task.status is not TaskStatus.QUEUED or running.stop_reason:
            return
        process = running.process = DownloadProcess(self._job(task))
        outcome: Finished | Failed | None = None
        try:
            started = {**_fresh_attempt(TaskStatus.DOWNLOADING), "started_at": _now()}
            await self._save(task_id, **started)
            if running.stop_reason is None:
                await process.start()
                if running.stop_reason is not None:
                    process.kill()  # stopped while it was starting
                async for report in process.reports():
                    if isinstance(report, Finished | Failed):
                        outcome = report
                    else:
                        await self._apply(task_id, report)
        finally:
            process.kill()
            exit_code = await process.wait()
            await asyncio.to_thread(
                media.remove_partial_files, self._settings.downloads_dir, task_id
            )
            await self._settle(task_id, outcome, running.stop_reason, exit_code)

    async def _apply(self, task_id: str, report: Progress | Metadata) -> None:
        if isinstance(report, Metadata):
            await self._save(
                task_id,
                title=report.title,
                duration=report.duration,
                remote_thumbnail=report.remote_thumbnail,
            )
            return
        if report.stage is Stage.PROCESSING:
            await self._save(task_id, status=TaskStatus.PROCESSING, speed=None, eta=None)
            return
        await self._save(
            task_id,
            status=TaskStatus.DOWNLOADING,
            downloaded_bytes=report.downloaded_bytes,
            total_bytes=report.total_bytes,
            speed=report.speed,
            eta=report.eta,
            progress=_percent(report.downloaded_bytes, report.total_bytes),
        )

    async def _settle(
        self,
        task_id: str,
        outcome: Finished | Failed | None,
        stop_reason: StopReason | None,
        exit_code: int | None,
    ) -> None:
        if stop_reason is StopReason.SHUTDOWN:
            await self._save(task_id, **_fresh_attempt(TaskStatus.QUEUED))
        elif stop_reason is StopReason.CANCEL:
            await self._save(
                task_id, status=TaskStatus.CANCELLED, speed=None, eta=None, finished_at=_now()
            )
        elif isinstance(outcome, Finished):
            thumbnail = await asyncio.to_thread(
                media.local_thumbnail_name, self._settings.thumbnails_dir, task_id
            )
            await self._save(
                task_id,
                status=TaskStatus.COMPLETED,
                progress=100.0,
                filename=outcome.filename,
                ext=outcome.ext,
                filesize=outcome.filesize,
                downloaded_bytes=outcome.filesize,
                total_bytes=outcome.filesize,
                thumbnail_file=thumbnail,
                **({"duration": outcome.duration} if outcome.duration else {}),
                speed=None,
                eta=None,
                finished_at=_now(),
            )
        else:
            error = (
                outcome.error
                if outcome
                else f"download process exited unexpectedly (exit code {exit_code})"
            )
            await self._save(
                task_id,
                status=TaskStatus.FAILED,
                error=error,
                speed=None,
                eta=None,
                finished_at=_now(),
            )

    async def _save(self, task_id: str, **changes: Any) -> Task | None:
        """Every state change goes through here, and is stored before anyone can see it."""
        task = await self._store.update(task_id, **changes)
        if task is not None:
            self._events.publish(task)
            if self._notifier and "status" in changes and task.status.is_final:
                self._notifier.notify(task)
        return task


def _fresh_attempt(status: TaskStatus) -> dict[str, Any]:
    return {
        "status": status,
        "progress": 0.0,
        "downloaded_bytes": None,
        "total_bytes": None,
        "speed": None,
        "eta": None,
        "error": None,
        "started_at": None,
        "finished_at": None,
    }


def _percent(done: int | None, total: int | None) -> float:
    if not done or not total:
        return 0.0
    return round(min(100.0, 100.0 * done / total), 1)
