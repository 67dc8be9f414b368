-- Cookie sets (offlinetube_api/cookie_sets.py): a Netscape cookies.txt per name, its text
-- never returned by the API, and the summary of its domains the listing shows instead. Kept in
-- the database so that every worker of a distributed service reads the same sets.
CREATE TABLE cookie_sets (
    name TEXT PRIMARY KEY,
    cookies TEXT NOT NULL,
    domains TEXT NOT NULL,  -- JSON: [{domain, cookies, expires_first, expires_last}]
    updated_at TEXT NOT NULL
);
-- The name of the cookie set a task uses (named in its request, or chosen by domain).
ALTER TABLE tasks ADD COLUMN cookies TEXT;
