-- The one media-signing secret of every replica, so a link signed by one is accepted by all.
-- A single row: made by whichever replica starts first (INSERT ... ON CONFLICT DO NOTHING),
-- then read by everyone.
CREATE TABLE signing_secret (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    secret bytea NOT NULL CHECK (octet_length(secret) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
