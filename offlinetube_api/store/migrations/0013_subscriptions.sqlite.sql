-- Subscriptions (offlinetube_api/subscriptions/): what the client chose and the last check
-- as JSON (the domain's dataclasses, subscriptions/rows.py), the schedule as columns. A check
-- claims its subscription (claimed_by, claimed_until: a lease) before it runs, so no check
-- runs twice at once, and a claim whose process died runs out.
CREATE TABLE subscriptions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    spec TEXT NOT NULL,
    created_at TEXT NOT NULL,  -- ISO 8601, UTC, microseconds: ordered as text
    next_check_at TEXT NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    checks INTEGER NOT NULL DEFAULT 0,
    last_check TEXT,
    claimed_by TEXT,
    claimed_until TEXT
);
CREATE INDEX subscriptions_by_due_time ON subscriptions (next_check_at) WHERE paused = 0;
-- Every video a subscription's checks have seen (queued or filtered out), by yt-dlp's
-- `<extractor>:<id>` key: a later check queues only what is not here.
CREATE TABLE subscription_videos (
    subscription_id TEXT NOT NULL,
    video_key TEXT NOT NULL,
    task_id TEXT,  -- the task queued for it; NULL when a filter kept it out
    seen_at TEXT NOT NULL,
    PRIMARY KEY (subscription_id, video_key)
);
ALTER TABLE tasks ADD COLUMN subscription_id TEXT;
ALTER TABLE tasks ADD COLUMN extractor TEXT;
ALTER TABLE tasks ADD COLUMN video_id TEXT;
CREATE INDEX tasks_by_subscription ON tasks (subscription_id) WHERE subscription_id IS NOT NULL;
CREATE INDEX tasks_by_video ON tasks (video_id, extractor) WHERE video_id IS NOT NULL;
