"""One installation per data folder, in one mode at a time.

An embedded service holds its data folder alone: a second one on the same folder would take
the first one's running downloads for a crash's leftovers, run them again and sweep their
partial files. Distributed processes (API replicas, workers) keep nothing in the data folder
(tasks, keys and the signing secret are in PostgreSQL, where several processes on one
database are the store's business), so any number of them may share one, as the replicas and
workers of compose.distributed.yaml share a volume; they hold it together, shared, which still
keeps an embedded service off their folder and them off its (a host moving from one mode to the
other with the old service still running). The lock is taken before anything in the folder is
touched, and goes with the process, however it ends."""

import contextlib
import fcntl
import os
import sys
from pathlib import Path

from offlinetube_api.security.private_files import PRIVATE_FILE_MODE, private_folder

LOCK_FILE = "offlinetube.lock"


class DataFolderBusy(Exception):
    """Another instance holds the data folder; `str()` is the one line to show."""

    def __init__(self, data_dir: Path, holder: int | None) -> None:
        who = f"another instance (pid {holder})" if holder else "another instance"
        super().__init__(
            f"{who} holds the data folder {data_dir.resolve()}; stop it first, or set "
            "OFFLINETUBE_DATA_DIR to another folder"
        )


def hold_data_folder(data_dir: Path, *, shared: bool = False) -> int:
    """Lock `data_dir` (an fcntl lock on `offlinetube.lock` in it) for as long as this process
    lives; returns the lock file's descriptor, which must stay open. `shared`: held together
    with other distributed processes; otherwise alone, and the file says which process holds
    it. Raises DataFolderBusy."""
    private_folder(data_dir)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    try:
        fcntl.lockf(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except OSError:
        holder = _holder(fd)
        os.close(fd)
        raise DataFolderBusy(data_dir, holder) from None
    # A pid left by an earlier holder would name the wrong process in a refusal.
    os.ftruncate(fd, 0)
    if not shared:
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def lock_data_folder(data_dir: Path, *, shared: bool = False) -> None:
    """For the command line, first thing at start-up: holds the folder (see
    hold_data_folder), or prints why not in one line and exits with code 2."""
    try:
        hold_data_folder(data_dir, shared=shared)
    except DataFolderBusy as busy:
        print(busy, file=sys.stderr)
        sys.exit(2)


def _holder(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().strip())
    return None
