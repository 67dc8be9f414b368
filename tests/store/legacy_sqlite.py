"""The SQLite schema as the releases before the migration runner made it, copied verbatim from
their store.py, to build the databases those releases left behind."""

import sqlite3
from pathlib import Path

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


def make_legacy_database(path: Path, user_version: int) -> None:
    """A database as a release whose schema stopped at `user_version` (0 to 4) left it: the
    tasks table with the columns of the steps up to that version, and (at 4, as the last such
    release did at every start) the kept counts."""
    with sqlite3.connect(path, isolation_level=None) as db:
        db.executescript(_SCHEMA)
        for number, step in enumerate(_MIGRATIONS[:user_version], start=1):
            db.executescript(f"BEGIN; {step}; PRAGMA user_version = {number}; COMMIT;")
        if user_version == len(_MIGRATIONS):
            db.executescript(_COUNTS)
    db.close()
