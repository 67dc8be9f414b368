-- Subscriptions (offlinetube_api/subscriptions/): what the client chose and the last check
-- as JSON (the domain's dataclasses, subscriptions/rows.py), the schedule as columns. A check
-- claims its subscription (claimed_by, claimed_until: a lease) before it runs, so no check
-- runs twice at once, on any host, and a claim whose host died runs out.
CREATE TABLE subscriptions (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL UNIQUE,
    spec text NOT NULL,
    created_at timestamptz NOT NULL,
    next_check_at timestamptz NOT NULL,
    paused boolean NOT NULL DEFAULT false,
    failures integer NOT NULL DEFAULT 0,
    checks integer NOT NULL DEFAULT 0,
    last_check text,
    claimed_by text,
    claimed_until timestamptz
);
CREATE INDEX subscriptions_by_due_time ON subscriptions (next_check_at) WHERE NOT paused;
-- Every video a subscription's checks have seen (queued or filtered out), by yt-dlp's
-- `<extractor>:<id>` key: a later check queues only what is not here.
CREATE TABLE subscription_videos (
    subscription_id text NOT NULL,
    video_key text NOT NULL,
    task_id text,  -- the task queued for it; NULL when a filter kept it out
    seen_at timestamptz NOT NULL,
    PRIMARY KEY (subscription_id, video_key)
);
ALTER TABLE tasks ADD COLUMN subscription_id text;
ALTER TABLE tasks ADD COLUMN extractor text;
ALTER TABLE tasks ADD COLUMN video_id text;
CREATE INDEX tasks_by_subscription ON tasks (subscription_id) WHERE subscription_id IS NOT NULL;
CREATE INDEX tasks_by_video ON tasks (video_id, extractor) WHERE video_id IS NOT NULL;
