-- Subscription events (subscription.created, .updated, .deleted, .checked) share the task
-- events' table, so they take their place in the one order of ids that /api/events resumes
-- from. In such an event `task_id` holds the subscription's id (a UUID, never a task's), `task`
-- is NULL and `subscription` the subscription after the change (as it was, for a deletion).
ALTER TABLE task_events ADD COLUMN subscription TEXT;
-- The outbox takes them too (webhooks.py sends those OFFLINETUBE_WEBHOOK_EVENTS names): `event`
-- names a subscription event; a task's final state, as before, has NULL and its status says.
-- SQLite cannot drop a NOT NULL: the table is made again (the trigger names it, so it goes
-- first and comes back).
DROP TRIGGER webhook_outbox_of_final_states;
CREATE TABLE webhook_outbox_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT,  -- NULL for a subscription event
    task TEXT,  -- the task as JSON, as its event carries it; NULL for a subscription event
    event TEXT,  -- the subscription event's name; NULL for a task's final state
    subscription TEXT,  -- the subscription as JSON, as its event carries it
    made_at TEXT NOT NULL,  -- the event's time: ISO 8601, UTC, microseconds
    claimed_by TEXT,  -- the process sending it, while its lease runs
    claimed_until TEXT
);
INSERT INTO webhook_outbox_new (id, task_id, task, made_at, claimed_by, claimed_until)
SELECT id, task_id, task, made_at, claimed_by, claimed_until FROM webhook_outbox;
DROP TABLE webhook_outbox;
ALTER TABLE webhook_outbox_new RENAME TO webhook_outbox;
CREATE INDEX webhook_outbox_by_age ON webhook_outbox (made_at);
CREATE TRIGGER webhook_outbox_of_final_states AFTER INSERT ON task_events
WHEN NEW.transition IN ('completed', 'failed', 'cancelled')
BEGIN
    INSERT INTO webhook_outbox (task_id, task, made_at) VALUES (NEW.task_id, NEW.task, NEW.at);
END;
CREATE TRIGGER webhook_outbox_of_subscription_events AFTER INSERT ON task_events
WHEN NEW.subscription IS NOT NULL
BEGIN
    INSERT INTO webhook_outbox (event, subscription, made_at)
    VALUES (NEW.transition, NEW.subscription, NEW.at);
END;
