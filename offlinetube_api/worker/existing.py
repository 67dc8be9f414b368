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
from offlinetube_api.models import ErrorKind, Task, TaskStatus
from offlinetube_api.ports import StoredFile, TaskStore
from offlinetube_api.transitions import Completed, Failed, TransitionRefused
from offlinetube_api.worker.ledger import TaskLedger

logger = logging.getLogger(__name__)


class ExistingDownloads:
    def __init__(self, *, store: TaskStore, ledger: TaskLedger, downloads_dir: Path) -> None:
        self._store = store
        self._ledger = ledger
        self._downloads_dir = downloads_dir

    async def made_along(self, found: Task, url: str) -> list[Task]:
        """`found`, the task a POST of `url` is a duplicate of (TaskStore.add_unless_same),
        and the tasks made with it: when `url` expanded into a playlist, its tasks from
        `url`, in playlist order, the one a POST answers first."""
        if found.playlist_id is None or found.source_url != url:
            return [found]
        members = await self._store.in_playlist(found.playlist_id)
        return [task for task in members if task.source_url == url] or [found]

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
        back. One listing of the folder (and of its metadata folder), whatever the size of
        the library."""
        present, described = await asyncio.to_thread(self._listing)
        stored_files = await self._store.downloaded_files()
        gone = self._gone(stored_files, present, described)
        back = [s for s in stored_files if s.status is TaskStatus.FAILED and s.filename in present]
        for stored in gone:
            await self._mark_missing(stored)
        for stored in back:
            await self._restore(stored)
        if back:
            logger.info("%d tasks have their video file back and are completed again", len(back))
        if gone:
            logger.warning(
                "%d completed tasks have lost their video file in %s and are marked failed "
                "(file_missing), among them %s",
                len(gone),
                self._downloads_dir,
                ", ".join(f"{stored.task_id} ({stored.filename})" for stored in gone[:3]),
            )

    def _gone(
        self, stored_files: list[StoredFile], present: frozenset[str], described: frozenset[str]
    ) -> list[StoredFile]:
        """The completed tasks whose video is not among `present`, unless the folder holds
        none of their files, neither a video nor a metadata file (task ids in `described`):
        that is the wrong folder (a NAS not mounted yet, a default ./downloads), and marking
        the whole library missing would hide it on every replica. A video deleted by hand
        leaves its metadata file behind, so the folder still shows it is the library."""
        completed = [stored for stored in stored_files if stored.status is TaskStatus.COMPLETED]
        gone = [stored for stored in completed if stored.filename not in present]
        if gone and len(gone) == len(completed) and not any(s.task_id in described for s in gone):
            self._warn_wrong_folder(len(completed))
            return []
        return gone

    def _listing(self) -> tuple[frozenset[str], frozenset[str]]:
        """The file names in the downloads folder, and the task ids of its metadata files."""
        sidecars = media.sidecar_paths(self._downloads_dir)
        return media.names_in(self._downloads_dir), frozenset(path.stem for path in sidecars)

    def _warn_wrong_folder(self, videos: int) -> None:
        logger.warning(
            "The downloads folder %s looks unmounted or wrong: none of the %d videos the "
            "database lists is in it. No task is marked missing; check "
            "OFFLINETUBE_DOWNLOADS_DIR, or mount the folder and restart",
            self._downloads_dir.resolve(),
            videos,
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
