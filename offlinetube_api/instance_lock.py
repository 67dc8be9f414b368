"""One service per data folder. A second one on the same folder would take the first one's
running downloads for a crash's leftovers, run them again and sweep their partial files; so
the folder is locked before anything in it is touched, and the lock goes with the process,
however it ends. Several processes on one shared database are a distributed store's business."""

import contextlib
import fcntl
import os
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


def hold_data_folder(data_dir: Path) -> int:
    """Lock `data_dir` (an fcntl lock on `offlinetube.lock` in it) for as long as this process
    lives; returns the lock file's descriptor, which must stay open. The file says which
    process holds it. Raises DataFolderBusy."""
    private_folder(data_dir)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = _holder(fd)
        os.close(fd)
        raise DataFolderBusy(data_dir, holder) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _holder(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().strip())
    return None
