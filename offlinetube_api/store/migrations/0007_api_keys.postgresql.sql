-- API keys, shared by every replica: one made or revoked with the command line counts on all.
CREATE TABLE api_keys (
    id text PRIMARY KEY,
    name text NOT NULL,
    scope text NOT NULL,
    secret_sha256 text NOT NULL,  -- hex SHA-256 of the secret; the secret itself is never kept
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
