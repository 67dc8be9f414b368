"""What a repeated POST already made, and the downloads whose files left the disk.

A completed task whose file was deleted by hand must not block its URL: the duplicate check
hands it back to be downloaded again under the same id, so saved links keep working. At
start-up such tasks are marked `failed` with `error_kind` `file_missing` (and put back to
`completed` when the file is there again, a disk mounted late, say)."""

import asyncio
import contextlib
import logging
from pathlib import Path

from offlinetube_api import media
from offlinetube_api.models import DownloadOrder, ErrorKind, Task, TaskStatus
from offlinetube_api.ports import StoredFile, TaskStore
from offlinetube_api.transitions import Completed, Failed, TransitionRefused
from offlinetube_api.worker.ledger import TaskLedger

logger = logging.getLogger(__name__)


class ExistingDownloads:
    def __init__(self, *, store: TaskStore, ledger: TaskLedger, downloads_dir: Path) -> None:
        self._store = store
        self._ledger = ledger
        self._downloads_dir = downloads_dir

    async def same_download(self, order: DownloadOrder) -> list[Task]:
        """The tasks an earlier POST of the same URL and options made, the one it answered
        first (a playlist's first task); empty when there is none that counts."""
        found = await self._store.find_same_download(
            url=order.url, format=order.format, audio_format=order.audio_format
        )
        if found is None:
            return []
        if found.playlist_id is None or found.source_url != order.url:
            return [found]
        members = await self._store.in_playlist(found.playlist_id)
        return [task for task in members if task.source_url == order.url] or [found]

    async def without_file(self, tasks: list[Task]) -> list[Task]:
        """Those of `tasks` that were downloaded once and whose file is gone."""
        return await asyncio.to_thread(lambda: [task for task in tasks if self._file_gone(task)])

    def _file_gone(self, task: Task) -> bool:
        if task.status is TaskStatus.FAILED:
            return task.error_kind is ErrorKind.FILE_MISSING
        if task.status is TaskStatus.COMPLETED:
            return not media.video_present(self._downloads_dir, task.filename)
        return False

    async def check_files(self) -> None:
        """At start-up: mark completed tasks whose file is gone; restore those whose file is
        back. One listing of the folder, whatever the size of the library."""
        present = await asyncio.to_thread(media.names_in, self._downloads_dir)
        gone: list[StoredFile] = []
        back: list[StoredFile] = []
        for stored in await self._store.downloaded_files():
            on_disk = stored.filename in present
            if stored.status is TaskStatus.COMPLETED and not on_disk:
                gone.append(stored)
                await self._mark_missing(stored)
            elif stored.status is TaskStatus.FAILED and on_disk:
                back.append(stored)
                await self._restore(stored)
        if back:
            logger.info("%d tasks have their video file back and are completed again", len(back))
        if gone:
            # One line, not one per task: a disk that is not mounted yet empties the whole folder.
            logger.warning(
                "%d completed tasks have lost their video file in %s and are marked failed "
                "(file_missing), among them %s",
                len(gone),
                self._downloads_dir,
                ", ".join(f"{stored.task_id} ({stored.filename})" for stored in gone[:3]),
            )

    async def _mark_missing(self, stored: StoredFile) -> None:
        missing = Failed(
            f"The downloaded file {stored.filename} is no longer in the downloads folder; "
            "post the URL again or retry to download it again",
            ErrorKind.FILE_MISSING,
        )
        with contextlib.suppress(TransitionRefused):  # another replica saw it first
            await self._ledger.apply(stored.task_id, missing)

    async def _restore(self, stored: StoredFile) -> None:
        task = await self._store.get(stored.task_id)
        if task is not None:
            with contextlib.suppress(TransitionRefused):
                await self._ledger.apply(task.id, Completed.restored(task))
