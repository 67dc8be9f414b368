-- Every saved transition, for event readers (Last-Event-ID). AUTOINCREMENT: an id is never
-- reused, even after the newest events were pruned. One writer at a time (the store's
-- thread, BEGIN IMMEDIATE), so ids appear in commit order.
CREATE TABLE task_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL,
    transition TEXT NOT NULL,
    task TEXT,  -- the task as JSON after the change; NULL for a removal
    at TEXT NOT NULL  -- ISO 8601, UTC, microseconds: ordered as text
);
CREATE INDEX task_events_by_task ON task_events (task_id, id);
