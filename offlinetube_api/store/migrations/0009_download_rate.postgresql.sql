-- The downloads each client started in the last minute, counted together by every replica,
-- so N replicas do not allow N times the limit. UNLOGGED: no WAL for a count that only matters
-- for a minute; a crash of the server empties it, which forgives at most one minute.
CREATE UNLOGGED TABLE download_rate_hits (
    identity text NOT NULL,  -- key:<key id> or address:<client address>
    at timestamptz NOT NULL
);
CREATE INDEX download_rate_hits_by_identity ON download_rate_hits (identity, at);
CREATE INDEX download_rate_hits_by_time ON download_rate_hits (at);
