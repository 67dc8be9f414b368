"""What a download's reports and its end do to its task: progress, completion, a failure that
is final or retried later, or a playlist expanded into one task per video."""

import asyncio
import logging
import signal
from dataclasses import asdict
from enum import Enum, auto

from offlinetube_api import library, media
from offlinetube_api.config import Settings
from offlinetube_api.models import DownloadOrder, ErrorKind, Task, TaskStatus
from offlinetube_api.worker.ledger import (
    PlaylistPlace,
    TaskLedger,
    cancelled,
    fresh_attempt,
    new_task,
    now,
    percent,
)
from offlinetube_api.worker.messages import (
    Failed,
    Finished,
    Metadata,
    Outcome,
    PlaylistEntry,
    PlaylistFound,
    Progress,
    Stage,
)
from offlinetube_api.worker.playlists import admit
from offlinetube_api.worker.waiting import WaitingQueue

logger = logging.getLogger(__name__)


class StopReason(Enum):
    CANCEL = auto()
    REMOVE = auto()  # the record is about to go: nothing to save, nobody to tell
    SHUTDOWN = auto()


class OutcomeRecorder:
    def __init__(self, *, ledger: TaskLedger, waiting: WaitingQueue, settings: Settings) -> None:
        self._ledger = ledger
        self._waiting = waiting
        self._settings = settings

    async def record(self, task: Task, report: Progress | Metadata) -> None:
        if isinstance(report, Metadata):
            await self._ledger.save(
                task.id,
                title=task.title or report.title,
                duration=report.duration,
                remote_thumbnail=report.remote_thumbnail,
            )
        elif report.stage is Stage.PROCESSING:
            await self._ledger.save(task.id, status=TaskStatus.PROCESSING, speed=None, eta=None)
        else:
            await self._ledger.save(
                task.id,
                status=TaskStatus.DOWNLOADING,
                downloaded_bytes=report.downloaded_bytes,
                total_bytes=report.total_bytes,
                speed=report.speed,
                eta=report.eta,
                progress=percent(report.downloaded_bytes, report.total_bytes),
            )

    async def settle(
        self,
        task: Task,
        outcome: Outcome | None,
        stop_reason: StopReason | None,
        exit_code: int | None,
    ) -> None:
        if stop_reason is StopReason.REMOVE:
            return
        if isinstance(outcome, Finished):
            # The files are in place: a stop that came after them does not undo the download.
            await self._complete(task, outcome)
        elif stop_reason is StopReason.SHUTDOWN:
            await self._ledger.save(
                task.id, **fresh_attempt(TaskStatus.QUEUED), attempts=task.attempts
            )
        elif stop_reason is StopReason.CANCEL:
            await self._cancel(task.id)
        elif isinstance(outcome, PlaylistFound):
            await self._expand_playlist(task, outcome)
        else:
            failure = outcome or _unexpected_exit(task, exit_code)
            await self._fail(task, failure)

    async def _cancel(self, task_id: str) -> None:
        """The process may have moved the video and thumbnail to their final names before it
        was killed; a cancelled task keeps nothing, so they go before anyone sees it cancelled."""
        await asyncio.to_thread(
            media.remove_task_files,
            self._settings.downloads_dir,
            self._settings.thumbnails_dir,
            task_id,
        )
        await self._ledger.save(task_id, **cancelled())

    async def _complete(self, task: Task, finished: Finished) -> None:
        thumbnail = await asyncio.to_thread(
            media.local_thumbnail_name, self._settings.thumbnails_dir, task.id
        )
        completed = await self._ledger.save(
            task.id,
            status=TaskStatus.COMPLETED,
            progress=100.0,
            filename=finished.filename,
            ext=finished.ext,
            filesize=finished.filesize,
            downloaded_bytes=finished.filesize,
            total_bytes=finished.filesize,
            thumbnail_file=thumbnail,
            subtitle_files=finished.subtitle_files,
            # Those from before this run (a playlist's refused videos) stay, each said once.
            warnings=tuple(dict.fromkeys(task.warnings + finished.warnings)),
            transcoded=finished.transcoded,
            speed=None,
            eta=None,
            error=None,
            error_kind=None,
            finished_at=now(),
            **({"duration": finished.duration} if finished.duration else {}),
        )
        if completed is not None:
            await asyncio.to_thread(library.write_sidecar, self._settings.downloads_dir, completed)

    async def _fail(self, task: Task, failure: Failed) -> None:
        tries = task.attempts + 1
        retry = failure.kind.is_transient and tries <= self._settings.max_retries
        await self._ledger.save(
            task.id,
            status=TaskStatus.QUEUED if retry else TaskStatus.FAILED,
            error=failure.error,
            error_kind=failure.kind,
            speed=None,
            eta=None,
            finished_at=None if retry else now(),
        )
        if retry:
            delay = self._settings.retry_backoff_seconds * 2 ** (tries - 1)
            logger.info("task %s: %s; retry %d in %.1f s", task.id, failure.kind, tries, delay)
            self._waiting.put_later(task.id, delay)

    async def _expand_playlist(self, task: Task, playlist: PlaylistFound) -> None:
        """The task becomes the playlist's first video; each other video the queue has room
        for gets a task of its own. All of them keep the posted URL as `source_url`."""
        admission = admit(
            playlist.entries, waiting=len(self._waiting), max_queued=self._settings.max_queued
        )
        warnings = task.warnings + admission.warnings
        if not admission.entries:
            await self._ledger.save(task.id, warnings=warnings)
            await self._fail(task, Failed("The playlist has no videos", ErrorKind.NOT_FOUND))
            return
        first, *others = admission.entries
        await self._ledger.save(
            task.id,
            **fresh_attempt(TaskStatus.QUEUED),
            **asdict(_place(task, first, index=1)),
            url=first.url,
            title=task.title or first.title,
            warnings=warnings,
        )
        self._waiting.put(task.id)
        for index, entry in enumerate(others, start=2):
            order = DownloadOrder(
                url=entry.url,
                format=task.format,
                audio_format=task.audio_format,
                subtitle_langs=task.subtitle_langs,
                title=entry.title,
            )
            entry_task = new_task(order, place=_place(task, entry, index=index))
            await self._ledger.add(entry_task)
            self._waiting.put(entry_task.id)


def _place(posted: Task, entry: PlaylistEntry, *, index: int) -> PlaylistPlace:
    return PlaylistPlace(
        playlist_id=posted.id,
        playlist_index=index,
        source_url=posted.url,
        page_item=entry.page_item,
    )


def _unexpected_exit(task: Task, exit_code: int | None) -> Failed:
    """The download process ended without saying how. Killed by a signal (the kernel's
    out-of-memory killer, a kill from outside) is worth another try; anything else is not."""
    if exit_code is None or exit_code >= 0:
        return Failed(f"download process exited unexpectedly (exit code {exit_code})")
    try:
        name = signal.Signals(-exit_code).name
    except ValueError:
        name = f"signal {-exit_code}"
    logger.warning("task %s: its download process was killed by %s", task.id, name)
    return Failed(
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
    done, cancelled or removed, no."""
    if stop_reason is not None:
        return stop_reason is StopReason.SHUTDOWN
    if isinstance(outcome, Failed):
        return _worth_continuing(outcome.kind)
    return outcome is None


def may_run_again(task: Task) -> bool:
    """Whether a task's partial files can still serve a later attempt (a retry included)."""
    if task.status is TaskStatus.FAILED:
        return _worth_continuing(task.error_kind)
    return not task.status.is_final
