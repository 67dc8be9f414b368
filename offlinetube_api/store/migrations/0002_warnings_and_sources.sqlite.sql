ALTER TABLE tasks ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]';
ALTER TABLE tasks ADD COLUMN transcoded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN source_url TEXT;
CREATE INDEX IF NOT EXISTS tasks_by_source_url ON tasks (source_url);
