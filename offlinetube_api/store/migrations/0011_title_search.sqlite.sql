-- The search of the library by title (`GET /api/downloads?q=`): each task's title as words
-- of letters and digits, lower case, without accents (offlinetube_api/title_words.py writes
-- it with every title; the store fills it at open for the rows of earlier releases), indexed
-- in an FTS5 table that reads its text from `tasks` (external content) and is kept by
-- triggers, its rowid the task's seq: pages by cursor and newest first walk it by rowid.
ALTER TABLE tasks ADD COLUMN title_words TEXT;
-- The rows still to fill: empty once they are, so finding them at every open costs nothing.
CREATE INDEX tasks_without_title_words ON tasks (seq)
    WHERE title_words IS NULL AND title IS NOT NULL;

CREATE VIRTUAL TABLE tasks_by_title USING fts5(
    title_words, content = 'tasks', content_rowid = 'seq', detail = 'none',
    tokenize = 'unicode61 remove_diacritics 0'
);

CREATE TRIGGER tasks_by_title_insert AFTER INSERT ON tasks WHEN new.title_words IS NOT NULL
BEGIN
    INSERT INTO tasks_by_title (rowid, title_words) VALUES (new.seq, new.title_words);
END;
CREATE TRIGGER tasks_by_title_delete AFTER DELETE ON tasks WHEN old.title_words IS NOT NULL
BEGIN
    INSERT INTO tasks_by_title (tasks_by_title, rowid, title_words)
        VALUES ('delete', old.seq, old.title_words);
END;
CREATE TRIGGER tasks_by_title_update AFTER UPDATE OF title_words ON tasks
BEGIN
    INSERT INTO tasks_by_title (tasks_by_title, rowid, title_words)
        SELECT 'delete', old.seq, old.title_words WHERE old.title_words IS NOT NULL;
    INSERT INTO tasks_by_title (rowid, title_words)
        SELECT new.seq, new.title_words WHERE new.title_words IS NOT NULL;
END;
