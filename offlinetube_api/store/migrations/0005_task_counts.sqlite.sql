-- X-Total-Count without count(*): at a million tasks count(*) walks a whole index (~30 ms,
-- more than the page itself). The count per status is kept by triggers, inside the same
-- transaction as every insert, delete and status change. Releases before this runner made
-- these at every start (hence IF NOT EXISTS); the counts are rebuilt here once.
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
