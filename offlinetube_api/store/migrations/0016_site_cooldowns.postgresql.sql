-- Per-site cool-downs (offlinetube_api/site_cooldowns.py): after a 429 or a bot check, no
-- download of the site starts before `until`, on any worker host; `strikes` counts the
-- cool-downs in a row, each twice as long as the one before, and goes with the row after a
-- download of the site succeeds.
CREATE TABLE site_cooldowns (
    site text PRIMARY KEY,
    until timestamptz NOT NULL,
    reason text NOT NULL,  -- rate_limited, bot_check
    strikes integer NOT NULL
);
-- The site a task's downloads count against (set when a run starts), and why and until when
-- a queued task waits for its site (worker/site_gate.py).
ALTER TABLE tasks ADD COLUMN site text;
ALTER TABLE tasks ADD COLUMN waiting_until timestamptz;
ALTER TABLE tasks ADD COLUMN waiting_reason text;
-- OFFLINETUBE_MAX_PER_SITE counts the running downloads of a site at each start.
CREATE INDEX tasks_running_by_site ON tasks (site) WHERE status IN ('downloading', 'processing');
