-- When each task's video was last streamed (GET or HEAD /api/stream/...), written by plays.py:
-- a subscription's retention never removes a video that may be playing.
CREATE TABLE video_plays (
    task_id TEXT PRIMARY KEY,
    played_at TEXT NOT NULL  -- ISO 8601, UTC, microseconds
);
