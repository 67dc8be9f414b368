"""Whether this process can do its work now: what `/readyz` answers. Each check is cheap (a
count read from the store, a file made and dropped in the downloads folder, a statvfs), so an
orchestrator may call it every few seconds.

The answers name what fails without paths or database messages: the probe is open to anyone
who can reach the service (a container's probe carries no key). `/api/health` and the log
have the details."""

import asyncio
import importlib.util
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from offlinetube_api.config import Settings
from offlinetube_api.errors import StoreUnavailable
from offlinetube_api.models import TaskStatus
from offlinetube_api.ports import TaskStore
from offlinetube_api.worker.process import CHILD_MODULE

# A database that takes longer than this to count the queue is as good as unreachable.
STORE_TIMEOUT_S = 3.0


@dataclass(frozen=True, slots=True)
class Check:
    """`problem`: None when the check passed, else what a person should fix."""

    name: str
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


async def readiness(store: TaskStore, settings: Settings, *, runs_downloads: bool) -> list[Check]:
    """The checks of what this process runs, in a fixed order: `store`, `download_process`,
    `downloads_folder`, `free_space`. Without `runs_downloads` (an API-only replica, whose
    downloads run in workers elsewhere) `download_process` and `free_space`, the reserve that
    only a download spends, are left out: the replica serves and removes files, no more."""
    if not runs_downloads:
        writable = await asyncio.to_thread(_writable, settings.downloads_dir)
        return [await _store_check(store), writable]
    folder_checks = await asyncio.to_thread(_folder_checks, settings)
    return [await _store_check(store), _download_process_check(), *folder_checks]


async def _store_check(store: TaskStore) -> Check:
    try:
        await asyncio.wait_for(store.count([TaskStatus.QUEUED]), STORE_TIMEOUT_S)
    except StoreUnavailable:
        return Check("store", "the database cannot be reached")
    except TimeoutError:
        return Check("store", f"the database did not answer within {STORE_TIMEOUT_S:g} s")
    if store.failure is not None:
        return Check("store", "the database refuses writes (see /api/health)")
    return Check("store")


def _download_process_check() -> Check:
    """What starting a download needs (worker/process.py): the interpreter, to run the
    forkserver or a spawned child, and the child's module, importable from it. It starts no
    process: setting yt-dlp up costs about 0.85 s of CPU a process (measured for GET /api/info),
    too much for a probe an orchestrator sends every few seconds."""
    if not os.access(sys.executable, os.X_OK):
        return Check("download_process", "the Python interpreter cannot be run")
    if importlib.util.find_spec(CHILD_MODULE) is None:
        return Check("download_process", "the download module cannot be imported")
    return Check("download_process")


def _folder_checks(settings: Settings) -> list[Check]:
    """Blocking: a write and a statvfs in the downloads folder."""
    folder = settings.downloads_dir
    return [_writable(folder), _free_space(folder, settings.min_free_bytes)]


def _writable(folder: Path) -> Check:
    try:
        # An unnamed file (O_TMPFILE on Linux): nothing appears in the library, even briefly.
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return Check("downloads_folder", f"the downloads folder refuses writes ({exc.strerror})")
    return Check("downloads_folder")


def _free_space(folder: Path, reserve: int) -> Check:
    try:
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        return Check("free_space", f"the downloads folder cannot be measured ({exc.strerror})")
    if free < reserve:
        return Check(
            "free_space",
            f"{free} bytes free, below the reserve of {reserve} (OFFLINETUBE_MIN_FREE_BYTES)",
        )
    return Check("free_space")
