-- When each task's video was last streamed (GET or HEAD /api/stream/...), written by plays.py:
-- a subscription's retention never removes a video that may be playing.
CREATE TABLE video_plays (
    task_id text PRIMARY KEY,
    played_at timestamptz NOT NULL
);
