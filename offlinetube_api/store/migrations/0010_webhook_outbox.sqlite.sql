-- Final states owed to the webhook receiver (see webhook_outbox.py). The trigger writes one in
-- the transaction that saves the final event, so a crash between the two cannot happen; the
-- transition's name is the state it reached for these three.
CREATE TABLE webhook_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL,
    task TEXT NOT NULL,  -- the task as JSON, as its event carries it
    made_at TEXT NOT NULL,  -- the event's time: ISO 8601, UTC, microseconds
    claimed_by TEXT,  -- the process sending it, while its lease runs
    claimed_until TEXT
);
CREATE INDEX webhook_outbox_by_age ON webhook_outbox (made_at);
CREATE TRIGGER webhook_outbox_of_final_states AFTER INSERT ON task_events
WHEN NEW.transition IN ('completed', 'failed', 'cancelled')
BEGIN
    INSERT INTO webhook_outbox (task_id, task, made_at) VALUES (NEW.task_id, NEW.task, NEW.at);
END;
