-- Every saved transition, for event readers on any replica (Last-Event-ID). Identity values
-- are handed out at insert, not at commit: every writer takes the event-order lock before
-- its insert (see postgres.py), so ids become visible in increasing order.
CREATE TABLE task_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id text NOT NULL,
    transition text NOT NULL,
    task jsonb,  -- the task after the change; NULL for a removal
    at timestamptz NOT NULL
);
CREATE INDEX task_events_by_task ON task_events (task_id, id);
