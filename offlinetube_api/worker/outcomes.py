"""What a download's reports and its end do to its task: progress, completion, a failure that
is final or retried later, or a playlist expanded into one task per video. Every write names
the attempt it belongs to, so a run that lost its task to another worker changes nothing."""

import asyncio
import logging
import signal
from dataclasses import replace
from enum import Enum, auto

from offlinetube_api import library, media, task_log
from offlinetube_api.config import Settings
from offlinetube_api.models import DownloadOrder, ErrorKind, Task, TaskStatus
from offlinetube_api.ports import JobQueue, TaskStore
from offlinetube_api.site_cooldowns import SiteCooldowns
from offlinetube_api.transitions import (
    Cancelled,
    Completed,
    Described,
    Expanded,
    Failed,
    PlaylistPlace,
    Processing,
    ProgressMade,
    Requeued,
    RequeueReason,
)
from offlinetube_api.worker import messages
from offlinetube_api.worker.ledger import TaskLedger, new_task
from offlinetube_api.worker.messages import Finished, Outcome, PlaylistEntry, PlaylistFound
from offlinetube_api.worker.playlists import admit
from offlinetube_api.worker.site_gate import cooldown_reason
from offlinetube_api.worker.sites import site_of

logger = logging.getLogger(__name__)


class StopReason(Enum):
    CANCEL = auto()  # a client cancelled or removed it: it ends cancelled
    SHUTDOWN = auto()  # its worker stops: it goes back to the queue, its partial files kept


class OutcomeRecorder:
    def __init__(
        self,
        *,
        ledger: TaskLedger,
        store: TaskStore,
        queue: JobQueue,
        cooldowns: SiteCooldowns,
        settings: Settings,
    ) -> None:
        self._cooldowns = cooldowns
        self._ledger = ledger
        self._store = store
        self._queue = queue
        self._settings = settings

    async def record(
        self, task: Task, report: messages.Progress | messages.Metadata, *, attempt: int
    ) -> bool:
        """False when the task is gone (removed). Raises TransitionRefused when the attempt
        is no longer the task's."""
        transition: Described | Processing | ProgressMade
        if isinstance(report, messages.Metadata):
            transition = Described(report.title, report.duration, report.remote_thumbnail)
        elif report.stage is messages.Stage.PROCESSING:
            transition = Processing()
        else:
            transition = ProgressMade(
                report.downloaded_bytes, report.total_bytes, report.speed, report.eta
            )
        return await self._ledger.apply(task.id, transition, attempt=attempt) is not None

    async def settle(
        self,
        task: Task,
        outcome: Outcome | None,
        stop_reason: StopReason | None,
        exit_code: int | None,
        *,
        attempt: int,
    ) -> None:
        """`task` as it was when the run began; `attempt` the run's number (its Started)."""
        if isinstance(outcome, Finished):
            # The files are in place: a stop that came after them does not undo the download.
            await self._complete(task, outcome, attempt)
        elif stop_reason is StopReason.SHUTDOWN:
            requeued = Requeued(RequeueReason.SHUTDOWN, attempts=task.attempts)
            await self._ledger.apply(task.id, requeued, attempt=attempt)
            # The queue keeps the job of a task whose worker stops; nothing to enqueue here.
        elif stop_reason is StopReason.CANCEL:
            await self._cancel(task.id, attempt)
        elif isinstance(outcome, PlaylistFound):
            await self._expand_playlist(task, outcome, attempt)
        else:
            failure = outcome or _unexpected_exit(task, exit_code)
            await self._fail(task, failure, attempt)

    async def _cancel(self, task_id: str, attempt: int) -> None:
        """The process may have written the thumbnail before it was killed; a cancelled task
        keeps nothing, so it goes before anyone sees the task cancelled."""
        await asyncio.to_thread(
            media.remove_task_files,
            self._settings.downloads_dir,
            self._settings.thumbnails_dir,
            task_id,
        )
        await self._ledger.apply(task_id, Cancelled(), attempt=attempt)

    async def _complete(self, task: Task, finished: Finished, attempt: int) -> None:
        thumbnail = await asyncio.to_thread(
            media.local_thumbnail_name, self._settings.thumbnails_dir, task.id
        )
        completed = Completed(
            filename=finished.filename,
            ext=finished.ext,
            filesize=finished.filesize,
            thumbnail_file=thumbnail,
            subtitle_files=finished.subtitle_files,
            warnings=finished.warnings,
            transcoded=finished.transcoded,
            duration=finished.duration,
        )
        # The sidecar is written before the task is saved completed: whoever sees it completed
        # (a client removing it at once, `rebuild`) finds its sidecar there, and a removal can
        # never be followed by a late sidecar. Not saved (removed meanwhile, or the attempt
        # lost to another run), the sidecar is put back as the store has the task.
        if (current := await self._store.get(task.id)) is None:
            return
        await self._match_sidecar(task.id, replace(current, **completed.changes(current)))
        saved = None
        try:
            saved = await self._ledger.apply(task.id, completed, attempt=attempt)
        finally:
            if saved is None:
                await self._match_sidecar(task.id, await self._store.get(task.id))
        await self._cooldowns.succeeded(site_of(task.url))

    async def _match_sidecar(self, task_id: str, task: Task | None) -> None:
        """Writes the sidecar of `task` when it is completed; removes any other (a task not
        completed, or None: gone)."""
        downloads_dir = self._settings.downloads_dir
        if task is not None and task.status is TaskStatus.COMPLETED:
            await asyncio.to_thread(library.write_sidecar, downloads_dir, task)
        else:
            await asyncio.to_thread(library.remove_sidecar, downloads_dir, task_id)

    async def _fail(
        self,
        task: Task,
        failure: messages.Failed,
        attempt: int,
        warnings: tuple[str, ...] = (),
    ) -> None:
        # Before the failure is saved: whoever sees it sees the site held back already.
        if reason := cooldown_reason(failure):
            site = site_of(task.url)
            cooldown = await self._cooldowns.begin(site, reason)
            logger.warning("site %s cools down until %s: %s", site, cooldown.until, reason)
        retry = failure.kind.is_transient and attempt <= self._settings.max_retries
        if not retry:
            failed = Failed(failure.error, failure.kind, warnings=warnings)
            await self._ledger.apply(task.id, failed, attempt=attempt)
            return
        requeued = Requeued(RequeueReason.RETRY, error=failure.error, error_kind=failure.kind)
        if (waiting := await self._ledger.apply(task.id, requeued, attempt=attempt)) is None:
            return
        delay = self._settings.retry_backoff_seconds * 2 ** (attempt - 1)
        task_log.retrying(waiting, attempt=attempt, delay_s=delay)
        await self._queue.enqueue(task.id, delay_s=delay)

    async def _expand_playlist(self, task: Task, playlist: PlaylistFound, attempt: int) -> None:
        """The task becomes the playlist's first video; each other video the queue has room
        for gets a task of its own. All of them keep the posted URL as `source_url`."""
        waiting = await self._store.count([TaskStatus.QUEUED])
        admission = admit(playlist.entries, waiting=waiting, max_queued=self._settings.max_queued)
        if not admission.entries:
            failure = messages.Failed("The playlist has no videos", ErrorKind.NOT_FOUND)
            await self._fail(task, failure, attempt, warnings=admission.warnings)
            return
        first, *others = admission.entries
        expanded = Expanded(
            url=first.url,
            title=first.title,
            place=_place(task, first, index=1),
            warnings=admission.warnings,
        )
        if await self._ledger.apply(task.id, expanded, attempt=attempt) is None:
            return
        await self._queue.enqueue(task.id)
        for index, entry in enumerate(others, start=2):
            order = DownloadOrder(
                url=entry.url,
                format=task.format,
                audio_format=task.audio_format,
                subtitle_langs=task.subtitle_langs,
                title=entry.title,
                cookies=task.cookies,
            )
            entry_task = new_task(order, place=_place(task, entry, index=index))
            await self._ledger.add(entry_task)
            await self._queue.enqueue(entry_task.id)


def _place(posted: Task, entry: PlaylistEntry, *, index: int) -> PlaylistPlace:
    return PlaylistPlace(
        playlist_id=posted.id,
        playlist_index=index,
        source_url=posted.url,
        page_item=entry.page_item,
    )


def _unexpected_exit(task: Task, exit_code: int | None) -> messages.Failed:
    """The download process ended without saying how. Killed by a signal (the kernel's
    out-of-memory killer, a kill from outside) is worth another try; anything else is not."""
    if exit_code is None or exit_code >= 0:
        return messages.Failed(f"download process exited unexpectedly (exit code {exit_code})")
    try:
        name = signal.Signals(-exit_code).name
    except ValueError:
        name = f"signal {-exit_code}"
    logger.warning("task %s: its download process was killed by %s", task.id, name)
    return messages.Failed(
        f"The download process was killed by {name} (out of memory, or stopped from outside)",
        ErrorKind.KILLED,
    )


def _worth_continuing(kind: ErrorKind | None) -> bool:
    """Failures a later attempt can get past, so what they downloaded is kept for it: the
    transient ones, and a folder that refused a write. Any other failure's partial files are
    of no use to anyone (or unsafe, like a refused playlist) and go."""
    return kind is not None and (kind.is_transient or kind is ErrorKind.STORAGE)


def keeps_partial_files(outcome: Outcome | None, stop_reason: StopReason | None) -> bool:
    """Whether a run's partial files stay for the next attempt to continue: after a shutdown,
    a process that died without a word, or a failure worth continuing, yes; once the task is
    done or cancelled, no."""
    if stop_reason is not None:
        return stop_reason is StopReason.SHUTDOWN
    if isinstance(outcome, messages.Failed):
        return _worth_continuing(outcome.kind)
    return outcome is None


def may_run_again(task: Task) -> bool:
    """Whether a task's partial files can still serve a later attempt (a retry included)."""
    if task.status is TaskStatus.FAILED:
        return _worth_continuing(task.error_kind)
    return not task.status.is_final
