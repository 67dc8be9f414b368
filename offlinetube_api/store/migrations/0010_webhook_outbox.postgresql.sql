-- Final states owed to the webhook receiver (see webhook_outbox.py). The trigger writes one in
-- the transaction that saves the final event, so a crash between the two cannot happen; the
-- transition's name is the state it reached for these three.
CREATE TABLE webhook_outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id text NOT NULL,
    task jsonb NOT NULL,  -- the task, as its event carries it
    made_at timestamptz NOT NULL,  -- the event's time
    claimed_by text,  -- the process sending it, while its lease runs
    claimed_until timestamptz
);
CREATE INDEX webhook_outbox_by_age ON webhook_outbox (made_at);

CREATE FUNCTION webhook_outbox_of_final_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_outbox (task_id, task, made_at) VALUES (NEW.task_id, NEW.task, NEW.at);
    RETURN NULL;
END
$$;
CREATE TRIGGER webhook_outbox_of_final_states AFTER INSERT ON task_events
FOR EACH ROW WHEN (NEW.transition IN ('completed', 'failed', 'cancelled'))
EXECUTE FUNCTION webhook_outbox_of_final_state();
