"""TaskRunner: one queued task's download, from the moment a worker takes it until its task is
settled. The same in both modes; the queue decides where and when it runs (in-process in
embedded mode, a procrastinate job on any worker host in distributed mode)."""

import asyncio
import logging

from offlinetube_api import media
from offlinetube_api.config import Settings, TranscodeMode
from offlinetube_api.cookie_sets import COOKIE_FILES, ChosenCookies, CookieSets, cookie_file
from offlinetube_api.errors import StoreUnavailable, UnknownCookieSet
from offlinetube_api.models import ErrorKind, Task, TaskStatus
from offlinetube_api.ports import JobQueue, TaskStore
from offlinetube_api.programs import Programs
from offlinetube_api.site_cooldowns import site_cooldowns
from offlinetube_api.transitions import Failed as FailedTransition
from offlinetube_api.transitions import SiteBusy, Started, TransitionRefused
from offlinetube_api.worker import process_groups
from offlinetube_api.worker.ledger import TaskLedger
from offlinetube_api.worker.messages import DownloadJob, Failed, Finished, Outcome, PlaylistFound
from offlinetube_api.worker.outcomes import OutcomeRecorder, StopReason, keeps_partial_files
from offlinetube_api.worker.process import ChildMain, DownloadProcess, default_child_main
from offlinetube_api.worker.site_gate import SiteGate
from offlinetube_api.worker.sites import site_of

logger = logging.getLogger(__name__)


class RunningDownload:
    """A task a worker has taken off the queue, from that moment until it is settled."""

    def __init__(self) -> None:
        self.process: DownloadProcess | None = None
        self.attempt: int | None = None  # once this run has started its task
        self.stop_reason: StopReason | None = None
        self.done = asyncio.Event()

    def stop(self, reason: StopReason) -> None:
        """Kills the download process group at once, if one runs; the run then settles the
        task by `reason` (the first reason given wins)."""
        self.stop_reason = self.stop_reason or reason
        if self.process:
            self.process.kill()


class TaskRunner:
    def __init__(
        self,
        *,
        store: TaskStore,
        ledger: TaskLedger,
        outcomes: OutcomeRecorder,
        settings: Settings,
        programs: Programs,
        cookies: CookieSets,
        gate: SiteGate,
        child_main: ChildMain = default_child_main,
    ) -> None:
        self._cookies = cookies
        self._gate = gate
        self._store = store
        self._ledger = ledger
        self._outcomes = outcomes
        self._settings = settings
        self._programs = programs
        self._child_main = child_main

    async def run(self, task_id: str, running: RunningDownload) -> None:
        """Downloads the task if it is still queued; returns once it is settled. A task that
        another worker started first (TransitionRefused at `started`) is left to it.

        Raises no Exception, in either mode: an error of the service itself (a bug, a folder
        that refuses the final move) is logged with its traceback at ERROR and ends the task
        `failed` with error kind `unknown`, so that no queue runs it again and again. Only
        when that save fails too (the database is down) is the task left as it was, for
        recovery: the next start (embedded) or the reconciler (distributed, queue/upkeep.py)."""
        try:
            await self._run(task_id, running)
        except Exception as error:
            logger.exception("task %s: internal error in its run", task_id)
            await self._fail_internal(task_id, error, running.attempt)

    async def _fail_internal(self, task_id: str, error: Exception, attempt: int | None) -> None:
        """The task ends failed, and its partial files go, as after any final failure. The
        message names the error's type only: its text may hold server paths or SQL, which
        belong in the log, not in every client's view of the task."""
        failed = FailedTransition(
            f"Internal error ({type(error).__name__}); the service log has the details",
            ErrorKind.UNKNOWN,
        )
        try:
            await self._ledger.apply(task_id, failed, attempt=attempt)
        except (StoreUnavailable, TransitionRefused) as refused:
            logger.warning("task %s: could not be marked failed: %s", task_id, refused)
            return
        await asyncio.to_thread(media.remove_partial_files, self._settings.downloads_dir, task_id)

    async def _run(self, task_id: str, running: RunningDownload) -> None:
        task = await self._store.get(task_id)
        if task is None or task.status is not TaskStatus.QUEUED:
            return
        site = site_of(task.url)
        if await self._gate.held_back(task, site):
            return
        cookies = await self._cookies_of(task)
        attempt = task.attempts + 1
        used = cookies.name if cookies else None
        started = Started(attempt, cookies=used, site=site, max_per_site=self._gate.max_per_site)
        try:
            await self._ledger.apply(task_id, started)
        except SiteBusy:
            await self._gate.site_busy(task, site)
            return
        except TransitionRefused:
            self._gate.started(task_id, site)  # cancelled or removed while it waited
            logger.info("task %s was started elsewhere; this run leaves it", task_id)
            return
        self._gate.started(task_id, site)
        running.attempt = attempt
        try:
            async with cookie_file(cookies, self._settings.data_dir / COOKIE_FILES) as path:
                await self._download(task, running, attempt, path)
        finally:
            await self._gate.released(site)

    async def _cookies_of(self, task: Task) -> ChosenCookies | None:
        """Chosen at each attempt, so that a retry after `auth_required` uses a set uploaded
        since. A named set that was removed meanwhile gives way to the set of the domain."""
        try:
            return await self._cookies.choose(task.url, task.cookies)
        except UnknownCookieSet:
            gone = task.cookies
            logger.warning("task %s: cookie set %r is gone; choosing by domain", task.id, gone)
            return await self._cookies.choose(task.url)

    async def _download(
        self, task: Task, running: RunningDownload, attempt: int, cookie_file: str | None
    ) -> None:
        job = self._job(task, cookie_file)
        process = running.process = DownloadProcess(job, child_main=self._child_main)
        task_id = task.id
        outcome: Outcome | None = None
        lost = False
        try:
            if running.stop_reason is None:
                await process.start()
                await self._remember_group(task_id, process)
                if running.stop_reason is not None:
                    process.kill()  # stopped while it was starting
                async for report in process.reports():
                    if isinstance(report, Finished | Failed | PlaylistFound):
                        outcome = report
                    elif not await self._outcomes.record(task, report, attempt=attempt):
                        running.stop(StopReason.CANCEL)  # removed: the removal kills it too
        except TransitionRefused:
            # The task moved on without this run (requeued as interrupted, then started by
            # another worker): this run must write nothing more.
            lost = True
            logger.warning("task %s: attempt %d lost its task; stopping it", task_id, attempt)
        finally:
            process.kill()
            exit_code = await process.wait()
            if isinstance(outcome, Finished) and not lost:
                lost = not await self._publish(task.id, outcome, attempt)
            if lost:
                await self._forget(task.id)
            else:
                await self._settle(task, running, outcome, exit_code, attempt)

    async def _forget(self, task_id: str) -> None:
        """What a run that lost its task leaves goes: its partial files, and everything of a
        task that was removed meanwhile (its thumbnail may have been written after the
        removal deleted the task's files)."""
        downloads, thumbnails = self._settings.downloads_dir, self._settings.thumbnails_dir
        if await self._store.get(task_id) is None:
            await asyncio.to_thread(media.remove_task_files, downloads, thumbnails, task_id)
        else:
            await asyncio.to_thread(media.remove_partial_files, downloads, task_id)

    async def _publish(self, task_id: str, finished: Finished, attempt: int) -> bool:
        """The fence before the final rename: the finished files go into the library only
        while this run's attempt is still the task's current one and the task is running. A
        worker cut off from the database long enough for its task to be given to another
        (see queue/worker.py) finds out here and leaves the library alone."""
        current = await self._store.get(task_id)
        if current is None or current.attempts != attempt or not current.status.is_active:
            logger.warning(
                "task %s: attempt %d is no longer current; its files go", task_id, attempt
            )
            return False
        names = (finished.filename, *finished.subtitle_files)
        await asyncio.to_thread(
            media.move_finished_files, self._settings.downloads_dir, task_id, names
        )
        return True

    async def _settle(
        self,
        task: Task,
        running: RunningDownload,
        outcome: Outcome | None,
        exit_code: int | None,
        attempt: int,
    ) -> None:
        if not keeps_partial_files(outcome, running.stop_reason):
            await asyncio.to_thread(
                media.remove_partial_files, self._settings.downloads_dir, task.id
            )
        try:
            await self._outcomes.settle(
                task, outcome, running.stop_reason, exit_code, attempt=attempt
            )
        except TransitionRefused as refused:
            logger.warning("task %s: its run ended, but %s", task.id, refused)

    def _job(self, task: Task, cookie_file: str | None) -> DownloadJob:
        downloads = self._settings.downloads_dir.resolve()
        return DownloadJob(
            task_id=task.id,
            url=task.url,
            format=task.format,
            downloads_dir=str(downloads),
            thumbnails_dir=str(self._settings.thumbnails_dir.resolve()),
            partial_dir=str(media.partial_dir(downloads, task.id)),
            finished_dir=str(media.finished_dir(downloads, task.id)),
            ffmpeg_path=self._programs.ffmpeg.path,
            js_runtime=self._programs.js_runtime,
            audio_format=task.audio_format,
            subtitle_langs=task.subtitle_langs,
            min_free_bytes=self._settings.min_free_bytes,
            playlist_limit=None if task.playlist_id else self._settings.playlist_limit,
            page_item=task.page_item,
            allow_private_urls=self._settings.allow_private_urls,
            transcode_unplayable=self._settings.transcode is TranscodeMode.AUTO,
            allowed_networks=tuple(map(str, self._settings.allow_private_networks)),
            proxy=self._settings.proxy_for(task.url),
            max_filesize=self._settings.max_filesize,
            sleep_interval=self._settings.sleep_interval,
            cookie_file=cookie_file,
            log_level=self._settings.log_level,
            log_format=self._settings.log_format,
        )

    async def _remember_group(self, task_id: str, process: DownloadProcess) -> None:
        """Saved for the next start (see worker/recovery.py); bookkeeping nobody watches."""
        group = (
            await asyncio.to_thread(process_groups.group_of, process.pid) if process.pid else None
        )
        if group:
            await self._store.note_process(task_id, group)


def build_runner(
    *,
    store: TaskStore,
    ledger: TaskLedger,
    queue: JobQueue,
    settings: Settings,
    programs: Programs,
    cookies: CookieSets,
    child_main: ChildMain = default_child_main,
) -> TaskRunner:
    """The runner both modes use: its outcomes recorded, and its starts held back by the
    site gate, over the cool-downs kept in the database of `store` (open)."""
    cooldowns = site_cooldowns(store, settings)
    outcomes = OutcomeRecorder(
        ledger=ledger, store=store, queue=queue, cooldowns=cooldowns, settings=settings
    )
    gate = SiteGate(
        cooldowns=cooldowns,
        ledger=ledger,
        queue=queue,
        max_per_site=settings.max_per_site,
        wake_waiters=not settings.distributed,
    )
    return TaskRunner(
        store=store,
        ledger=ledger,
        outcomes=outcomes,
        settings=settings,
        programs=programs,
        cookies=cookies,
        gate=gate,
        child_main=child_main,
    )
