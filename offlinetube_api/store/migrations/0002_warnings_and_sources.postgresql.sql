ALTER TABLE tasks ADD COLUMN warnings jsonb NOT NULL DEFAULT '[]';
ALTER TABLE tasks ADD COLUMN transcoded boolean NOT NULL DEFAULT false;
ALTER TABLE tasks ADD COLUMN source_url text;
CREATE INDEX tasks_by_source_url ON tasks (source_url);
