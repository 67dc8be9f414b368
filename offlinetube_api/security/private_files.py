"""Files only the service's own user may open: the data folder (0700), the database and the
signing key (0600), whatever the umask was. Blocking; called at start-up and by the CLI."""

import logging
import os
import stat
from pathlib import Path

logger = logging.getLogger(__name__)

PRIVATE_FOLDER_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_folder(path: Path) -> None:
    """Creates `path` (and any missing parents) if need be, and makes it 0700."""
    path.mkdir(mode=PRIVATE_FOLDER_MODE, parents=True, exist_ok=True)
    _restrict(path, PRIVATE_FOLDER_MODE)


def private_file(path: Path) -> None:
    """Creates `path` empty if it is missing, born 0600 so it is never readable by others even
    for a moment; an existing file is made 0600 too. SQLite gives the database's `-wal` and
    `-shm` files the database's own mode, so they follow."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
    _restrict(path, PRIVATE_FILE_MODE)


def _restrict(path: Path, mode: int) -> None:
    if stat.S_IMODE(path.stat().st_mode) == mode:
        return
    try:
        path.chmod(mode)
    except PermissionError:  # owned by another user: say so, the service can still run
        logger.warning("could not make %s mode %o: it is not owned by this user", path, mode)
