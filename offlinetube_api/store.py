"""TaskStore: where tasks live. The SQLite implementation is the only module that speaks SQL."""

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TypeVar

from offlinetube_api.errors import StoreUnavailable
from offlinetube_api.models import AudioFormat, ErrorKind, Task, TaskStatus
from offlinetube_api.security.private_files import private_file

T = TypeVar("T")
logger = logging.getLogger(__name__)

_COLUMNS = tuple(field.name for field in fields(Task))
_DATETIME_COLUMNS = frozenset({"created_at", "started_at", "finished_at"})
_LIST_COLUMNS = frozenset({"subtitle_langs", "subtitle_files", "warnings"})
_ENUM_COLUMNS: dict[str, type[StrEnum]] = {
    "status": TaskStatus,
    "error_kind": ErrorKind,
    "audio_format": AudioFormat,
}
_BOOL_COLUMNS = frozenset({"transcoded"})
_UPDATABLE = frozenset(_COLUMNS) - {"id", "created_at"}
_DEAD = frozenset({TaskStatus.FAILED, TaskStatus.CANCELLED})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    format TEXT,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    title TEXT,
    progress REAL NOT NULL DEFAULT 0,
    downloaded_bytes INTEGER,
    total_bytes INTEGER,
    speed REAL,
    eta INTEGER,
    error TEXT,
    filename TEXT,
    filesize INTEGER,
    ext TEXT,
    duration REAL,
    thumbnail_file TEXT,
    remote_thumbnail TEXT,
    started_at TEXT,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS tasks_by_status ON tasks (status, seq);
"""

# Applied in order to databases whose `user_version` is lower; never edit a released step.
_MIGRATIONS = (
    """
    ALTER TABLE tasks ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tasks ADD COLUMN error_kind TEXT;
    ALTER TABLE tasks ADD COLUMN playlist_id TEXT;
    ALTER TABLE tasks ADD COLUMN playlist_index INTEGER;
    ALTER TABLE tasks ADD COLUMN audio_format TEXT;
    ALTER TABLE tasks ADD COLUMN subtitle_langs TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE tasks ADD COLUMN subtitle_files TEXT NOT NULL DEFAULT '[]';
    CREATE INDEX IF NOT EXISTS tasks_by_url ON tasks (url);
    CREATE INDEX IF NOT EXISTS tasks_by_playlist ON tasks (playlist_id, playlist_index);
    """,
    """
    ALTER TABLE tasks ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE tasks ADD COLUMN transcoded INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tasks ADD COLUMN source_url TEXT;
    CREATE INDEX IF NOT EXISTS tasks_by_source_url ON tasks (source_url);
    """,
    """
    ALTER TABLE tasks ADD COLUMN page_item INTEGER;
    """,
    """
    ALTER TABLE tasks ADD COLUMN process_group INTEGER;
    ALTER TABLE tasks ADD COLUMN process_started INTEGER;
    """,
)


# X-Total-Count without count(*): at a million tasks count(*) walks a whole index (~30 ms, more
# than the page itself). The count per status is kept by triggers, inside the same transaction
# as every insert, delete and status change, and rebuilt at every start, which also fills it
# for a database made before it existed.
_COUNTS = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS task_counts (status TEXT PRIMARY KEY, n INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS task_counts_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO task_counts (status, n) VALUES (NEW.status, 1)
        ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS task_counts_delete AFTER DELETE ON tasks BEGIN
    UPDATE task_counts SET n = n - 1 WHERE status = OLD.status;
END;
CREATE TRIGGER IF NOT EXISTS task_counts_status AFTER UPDATE OF status ON tasks
    WHEN OLD.status IS NOT NEW.status BEGIN
    UPDATE task_counts SET n = n - 1 WHERE status = OLD.status;
    INSERT INTO task_counts (status, n) VALUES (NEW.status, 1)
        ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
DELETE FROM task_counts;
INSERT INTO task_counts (status, n) SELECT status, count(*) FROM tasks GROUP BY status;
COMMIT;
"""


def _migrate(connection: sqlite3.Connection) -> None:
    version: int = connection.execute("PRAGMA user_version").fetchone()[0]
    for number, step in enumerate(_MIGRATIONS[version:], start=version + 1):
        connection.executescript(f"BEGIN; {step}; PRAGMA user_version = {number}; COMMIT;")


class StoredFile(NamedTuple):
    task_id: str
    filename: str | None
    status: TaskStatus


class TaskStore(Protocol):
    """What the API and the download manager need from a store of tasks."""

    async def add(self, task: Task) -> None: ...

    async def get(self, task_id: str) -> Task | None: ...

    async def page(
        self, *, status: TaskStatus | None, limit: int, offset: int
    ) -> tuple[list[Task], int]:
        """Newest first; also returns how many match in all."""
        ...

    async def with_status(self, statuses: Iterable[TaskStatus]) -> list[Task]:
        """Oldest first."""
        ...

    async def update(self, task_id: str, **changes: Any) -> Task | None: ...

    async def find_same_download(
        self, *, url: str, format: str | None, audio_format: AudioFormat | None
    ) -> Task | None:
        """The newest task with the same options that is queued, running, done, or failed only
        because its file went missing, and that either downloads `url` itself or was made
        from `url` as part of a playlist."""
        ...

    async def in_playlist(self, playlist_id: str) -> list[Task]:
        """In playlist order."""
        ...

    async def delete(self, task_id: str) -> bool: ...

    async def close(self) -> None: ...

    @property
    def failure(self) -> str | None:
        """Why the database last failed, or None while it works."""
        ...

    async def downloaded_files(self) -> list[StoredFile]:
        """Every task that is completed, or failed because its file went missing."""
        ...


def _to_row_value(column: str, value: Any) -> Any:
    if column in _LIST_COLUMNS:
        return json.dumps(list(value))
    if column in _DATETIME_COLUMNS and value is not None:
        return value.isoformat()
    return value


def _from_row_value(column: str, value: Any) -> Any:
    if column in _LIST_COLUMNS:
        return tuple(json.loads(value))
    if value is None:
        return None
    if column in _DATETIME_COLUMNS:
        return datetime.fromisoformat(value)
    if column in _ENUM_COLUMNS:
        return _ENUM_COLUMNS[column](value)
    if column in _BOOL_COLUMNS:
        return bool(value)
    return value


def _task_from_row(row: sqlite3.Row) -> Task:
    return Task(**{column: _from_row_value(column, row[column]) for column in _COLUMNS})


class SqliteTaskStore:
    """SQLite in WAL mode. One connection, used from one dedicated thread, so no call
    blocks the event loop and writes never contend with each other."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="task-store")
        self._connection: sqlite3.Connection | None = None
        self._damage: str | None = None  # the file is malformed: stays until a restart
        self._trouble: str | None = None  # read-only, full, locked: until a write succeeds

    @property
    def failure(self) -> str | None:
        return self._damage or self._trouble

    async def _run(self, call: Callable[[sqlite3.Connection], T]) -> T:
        """Runs `call` on the store's thread. A database that fails (damaged, read-only,
        full) is remembered for the health route and answered as StoreUnavailable, a 503,
        rather than a bare 500."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, lambda: call(self._connect()))
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
            raise  # the caller's mistake, not the database's
        except sqlite3.OperationalError as exc:
            self._trouble = str(exc)
            raise StoreUnavailable(str(exc)) from exc
        except sqlite3.DatabaseError as exc:
            self._damage = str(exc)
            raise StoreUnavailable(str(exc)) from exc

    async def _write(self, call: Callable[[sqlite3.Connection], T]) -> T:
        result = await self._run(call)
        self._trouble = None
        return result

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            private_file(self._path)  # else SQLite makes it with the umask's mode, often 0644
            connection = sqlite3.connect(self._path, isolation_level=None)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA busy_timeout=5000")
            connection.executescript(_SCHEMA)
            _migrate(connection)
            connection.executescript(_COUNTS)
            self._connection = connection
        return self._connection

    async def open(self) -> None:
        await self._run(lambda _: None)

    async def add(self, task: Task) -> None:
        placeholders = ", ".join("?" for _ in _COLUMNS)
        sql = f"INSERT INTO tasks ({', '.join(_COLUMNS)}) VALUES ({placeholders})"
        values = [_to_row_value(column, getattr(task, column)) for column in _COLUMNS]
        await self._write(lambda db: db.execute(sql, values))

    async def get(self, task_id: str) -> Task | None:
        def query(db: sqlite3.Connection) -> Task | None:
            row = db.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
            return _task_from_row(row) if row else None

        return await self._run(query)

    async def page(
        self, *, status: TaskStatus | None, limit: int, offset: int
    ) -> tuple[list[Task], int]:
        where, params = ("WHERE status = ?", [status.value]) if status else ("", [])

        def query(db: sqlite3.Connection) -> tuple[list[Task], int]:
            rows = db.execute(
                f"SELECT * FROM tasks {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
            total = db.execute(
                f"SELECT coalesce(sum(n), 0) FROM task_counts {where}", params
            ).fetchone()[0]
            return [_task_from_row(row) for row in rows], total

        return await self._run(query)

    async def with_status(self, statuses: Iterable[TaskStatus]) -> list[Task]:
        wanted = [status.value for status in statuses]
        marks = ", ".join("?" for _ in wanted)

        def query(db: sqlite3.Connection) -> list[Task]:
            rows = db.execute(
                f"SELECT * FROM tasks WHERE status IN ({marks}) ORDER BY seq", wanted
            ).fetchall()
            return [_task_from_row(row) for row in rows]

        return await self._run(query)

    async def update(self, task_id: str, **changes: Any) -> Task | None:
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        assignments = ", ".join(f"{column} = ?" for column in changes)
        values = [_to_row_value(column, value) for column, value in changes.items()]

        def query(db: sqlite3.Connection) -> Task | None:
            row = db.execute(
                f"UPDATE tasks SET {assignments} WHERE id = ? RETURNING *", [*values, task_id]
            ).fetchone()
            return _task_from_row(row) if row else None

        return await self._write(query)

    async def find_same_download(
        self, *, url: str, format: str | None, audio_format: AudioFormat | None
    ) -> Task | None:
        alive = [status.value for status in TaskStatus if status not in _DEAD]
        sql = f"""SELECT * FROM tasks
                  WHERE ((url = ? AND page_item IS NULL) OR source_url = ?)
                  AND format IS ? AND audio_format IS ?
                  AND (status IN ({", ".join("?" for _ in alive)}) OR error_kind = ?)
                  ORDER BY seq DESC LIMIT 1"""
        audio = audio_format.value if audio_format else None
        params = [url, url, format, audio, *alive, ErrorKind.FILE_MISSING.value]

        def query(db: sqlite3.Connection) -> Task | None:
            row = db.execute(sql, params).fetchone()
            return _task_from_row(row) if row else None

        return await self._run(query)

    async def in_playlist(self, playlist_id: str) -> list[Task]:
        def query(db: sqlite3.Connection) -> list[Task]:
            rows = db.execute(
                "SELECT * FROM tasks WHERE playlist_id = ? ORDER BY playlist_index", (playlist_id,)
            ).fetchall()
            return [_task_from_row(row) for row in rows]

        return await self._run(query)

    async def delete(self, task_id: str) -> bool:
        cursor = await self._write(
            lambda db: db.execute("DELETE FROM tasks WHERE id = ?", (task_id,))
        )
        return cursor.rowcount > 0

    async def close(self) -> None:
        def close_connection(_: sqlite3.Connection) -> None:
            if self._connection is not None:
                try:
                    # Everything into the main file, so a copy of that file alone is complete.
                    self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.DatabaseError as exc:
                    logger.warning("could not checkpoint %s at close: %s", self._path, exc)
                finally:
                    self._connection.close()
                    self._connection = None

        if self._connection is not None:
            await self._run(close_connection)
        self._executor.shutdown(wait=True)

    async def downloaded_files(self) -> list[StoredFile]:
        sql = "SELECT id, filename, status FROM tasks WHERE status = ? OR error_kind = ?"
        params = (TaskStatus.COMPLETED.value, ErrorKind.FILE_MISSING.value)

        def query(db: sqlite3.Connection) -> list[StoredFile]:
            return [
                StoredFile(row["id"], row["filename"], TaskStatus(row["status"]))
                for row in db.execute(sql, params)
            ]

        return await self._run(query)
