-- X-Total-Count without count(*), which at a million tasks scans the table: the count per
-- status, kept by triggers in the same transaction as every insert, delete and status change.
-- Writers that change a status hold the event-order lock (see postgres.py) while they do, so
-- two of them never take these rows in opposite orders.
CREATE TABLE task_counts (status text PRIMARY KEY, n bigint NOT NULL);

CREATE FUNCTION task_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE task_counts SET n = n - 1 WHERE status = OLD.status;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO task_counts (status, n) VALUES (NEW.status, 1)
            ON CONFLICT (status) DO UPDATE SET n = task_counts.n + 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER task_counts_insert AFTER INSERT ON tasks
    FOR EACH ROW EXECUTE FUNCTION task_counts_follow();
CREATE TRIGGER task_counts_delete AFTER DELETE ON tasks
    FOR EACH ROW EXECUTE FUNCTION task_counts_follow();
CREATE TRIGGER task_counts_status AFTER UPDATE OF status ON tasks
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION task_counts_follow();

INSERT INTO task_counts (status, n) SELECT status, count(*) FROM tasks GROUP BY status;
