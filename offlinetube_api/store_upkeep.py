"""Looking after the SQLite file itself: the integrity check at start-up and online backups.

Blocking; the command line calls these before the service starts, or instead of it."""

import logging
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from offlinetube_api.security.private_files import private_file

logger = logging.getLogger(__name__)

CHECK_BUDGET_S = 10.0
_PROGRESS_STEPS = 10_000  # SQLite virtual machine steps between looks at the clock


class DatabaseUnusable(Exception):
    """The database file cannot be read, is damaged, or refuses writes. The message is one
    line that names the file and the problem."""


def check_database(path: Path, *, budget_s: float = CHECK_BUDGET_S) -> None:
    """`PRAGMA quick_check` and a write lock on the database at `path`, if it exists. A check
    that runs longer than `budget_s` seconds (a huge library on a slow disk) is stopped and
    logged, and the start goes on: a damaged page then still shows up as failing writes.

    Raises DatabaseUnusable."""
    if not path.exists():
        return  # made at start-up
    if not path.is_file():
        raise DatabaseUnusable(f"The database {path} is not a file")
    _open_for_writing(path)
    try:
        with closing(sqlite3.connect(path, timeout=5, isolation_level=None)) as database:
            _quick_check(database, path, budget_s)
            # Takes the write lock without writing: fails on a read-only file or folder.
            database.execute("BEGIN IMMEDIATE")
            database.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        raise DatabaseUnusable(f"The database {path} cannot be opened for writing: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise DatabaseUnusable(f"The database {path} is damaged: {exc}") from exc


def _open_for_writing(path: Path) -> None:
    """SQLite opens a file it may not write read-only, without a word, and even takes the write
    lock on it; so the file itself is opened for writing first (a read-only mount, file mode or
    immutable flag all refuse here)."""
    try:
        os.close(os.open(path, os.O_RDWR))
    except OSError as exc:
        raise DatabaseUnusable(
            f"The database {path} cannot be opened for writing: {exc.strerror}"
        ) from exc


def _quick_check(database: sqlite3.Connection, path: Path, budget_s: float) -> None:
    give_up = time.monotonic() + budget_s
    database.set_progress_handler(lambda: time.monotonic() > give_up, _PROGRESS_STEPS)
    try:
        problems = [row[0] for row in database.execute("PRAGMA quick_check")]
    except sqlite3.OperationalError:
        if time.monotonic() <= give_up:
            raise
        logger.warning(
            "integrity check of %s stopped after %.0f s; starting anyway", path, budget_s
        )
        return
    finally:
        database.set_progress_handler(None, 0)
    if problems != ["ok"]:
        # Rows may hold several lines, under a "*** in database main ***" heading.
        lines = [line for row in problems for line in row.splitlines() if "***" not in line]
        more = f" (and {len(lines) - 1} more problems)" if len(lines) > 1 else ""
        raise DatabaseUnusable(f"The database {path} is damaged: {lines[0]}{more}")


def backup_database(database: Path, target: Path) -> int:
    """Copies the database at `database` to `target` with SQLite's online backup API: a
    consistent copy even while the service writes. `target` appears only once complete.
    Returns how many tasks the copy holds.

    Raises DatabaseUnusable when there is no database to copy or it cannot be read, and
    ValueError when `target` is the database itself, a folder, in no folder, or in one that
    refuses the write (read-only, permissions)."""
    if not database.is_file():
        raise DatabaseUnusable(f"There is no database at {database}")
    if target.resolve() == database.resolve():
        raise ValueError(f"{target} is the database itself; choose another file")
    if target.is_dir():
        raise ValueError(f"{target} is a folder; name the file to write in it")
    if not target.parent.is_dir():
        raise ValueError(f"There is no folder {target.parent} to write {target.name} in")
    partial = target.with_name(f".{target.name}.partial")
    try:
        partial.unlink(missing_ok=True)
        private_file(partial)  # the copy holds the API keys' hashes, like the database itself
    except OSError as exc:
        raise ValueError(f"Cannot write {target.name} in {target.parent}: {exc.strerror}") from exc
    try:
        with (
            closing(sqlite3.connect(database, timeout=5)) as source,
            closing(sqlite3.connect(partial)) as copy,
        ):
            source.backup(copy)
            tasks: int = copy.execute("SELECT count(*) FROM tasks").fetchone()[0]
        os.replace(partial, target)
    except (sqlite3.DatabaseError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise DatabaseUnusable(f"Could not back up {database} to {target}: {exc}") from exc
    return tasks
