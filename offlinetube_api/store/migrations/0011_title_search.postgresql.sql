-- The search of the library by title (`GET /api/downloads?q=`): each task's title as words
-- of letters and digits, lower case, without accents (offlinetube_api/title_words.py writes
-- it with every title; the store fills it at open for the rows of earlier releases), and as
-- a stored tsvector with a GIN index. The 'simple' configuration only splits and lower-cases:
-- no stemming and no stop words, so a word is found as it is written, as in SQLite's FTS5
-- index. Stored rather than an expression index: ANALYZE then keeps statistics of its words,
-- so the planner knows a rare word from one in every title, and a row is checked without
-- computing its tsvector again.
ALTER TABLE tasks ADD COLUMN title_words text;
ALTER TABLE tasks ADD COLUMN title_search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', coalesce(title_words, ''))) STORED;
-- The rows still to fill: empty once they are, so finding them at every open costs nothing.
CREATE INDEX tasks_without_title_words ON tasks (seq)
    WHERE title_words IS NULL AND title IS NOT NULL;
CREATE INDEX tasks_by_title ON tasks USING gin (title_search);
