-- Subscription events (subscription.created, .updated, .deleted, .checked) share the task
-- events' table, so they take their place in the one order of ids that /api/events resumes
-- from. In such an event `task_id` holds the subscription's id (a UUID, never a task's), `task`
-- is NULL and `subscription` the subscription after the change (as it was, for a deletion).
ALTER TABLE task_events ADD COLUMN subscription jsonb;
-- The outbox takes them too (webhooks.py sends those OFFLINETUBE_WEBHOOK_EVENTS names): `event`
-- names a subscription event; a task's final state, as before, has NULL and its status says.
ALTER TABLE webhook_outbox ALTER COLUMN task_id DROP NOT NULL;
ALTER TABLE webhook_outbox ALTER COLUMN task DROP NOT NULL;
ALTER TABLE webhook_outbox ADD COLUMN event text;
ALTER TABLE webhook_outbox ADD COLUMN subscription jsonb;

CREATE FUNCTION webhook_outbox_of_subscription_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_outbox (event, subscription, made_at)
    VALUES (NEW.transition, NEW.subscription, NEW.at);
    RETURN NULL;
END
$$;
CREATE TRIGGER webhook_outbox_of_subscription_events AFTER INSERT ON task_events
FOR EACH ROW WHEN (NEW.subscription IS NOT NULL)
EXECUTE FUNCTION webhook_outbox_of_subscription_event();
