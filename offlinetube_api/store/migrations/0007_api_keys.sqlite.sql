-- API keys, in the migrations now. IF NOT EXISTS: the releases before this step made the
-- same table themselves (security/keys.py created it on first use).
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,  -- hex SHA-256 of the secret; the secret itself is never kept
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
