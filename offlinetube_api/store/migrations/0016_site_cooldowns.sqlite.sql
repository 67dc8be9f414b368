-- Per-site cool-downs (offlinetube_api/site_cooldowns.py): after a 429 or a bot check, no
-- download of the site starts before `until`; `strikes` counts the cool-downs in a row, each
-- twice as long as the one before, and goes with the row after a download of the site succeeds.
CREATE TABLE site_cooldowns (
    site TEXT PRIMARY KEY,
    until TEXT NOT NULL,  -- ISO 8601, UTC, microseconds: ordered as text
    reason TEXT NOT NULL,  -- rate_limited, bot_check
    strikes INTEGER NOT NULL
);
-- The site a task's downloads count against (set when a run starts), and why and until when
-- a queued task waits for its site (worker/site_gate.py).
ALTER TABLE tasks ADD COLUMN site TEXT;
ALTER TABLE tasks ADD COLUMN waiting_until TEXT;
ALTER TABLE tasks ADD COLUMN waiting_reason TEXT;
-- OFFLINETUBE_MAX_PER_SITE counts the running downloads of a site at each start.
CREATE INDEX tasks_running_by_site ON tasks (site) WHERE status IN ('downloading', 'processing');
