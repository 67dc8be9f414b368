-- The tasks table as the first releases made it (PRAGMA user_version 0), then their step 1.
-- IF NOT EXISTS: a database of those releases at user_version 0 already has the table and
-- gets the new columns here.
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
ALTER TABLE tasks ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN error_kind TEXT;
ALTER TABLE tasks ADD COLUMN playlist_id TEXT;
ALTER TABLE tasks ADD COLUMN playlist_index INTEGER;
ALTER TABLE tasks ADD COLUMN audio_format TEXT;
ALTER TABLE tasks ADD COLUMN subtitle_langs TEXT NOT NULL DEFAULT '[]';
ALTER TABLE tasks ADD COLUMN subtitle_files TEXT NOT NULL DEFAULT '[]';
CREATE INDEX IF NOT EXISTS tasks_by_url ON tasks (url);
CREATE INDEX IF NOT EXISTS tasks_by_playlist ON tasks (playlist_id, playlist_index);
