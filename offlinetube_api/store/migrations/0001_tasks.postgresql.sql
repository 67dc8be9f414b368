CREATE TABLE tasks (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL UNIQUE,
    url text NOT NULL,
    format text,
    status text NOT NULL,
    created_at timestamptz NOT NULL,
    title text,
    progress double precision NOT NULL DEFAULT 0,
    downloaded_bytes bigint,
    total_bytes bigint,
    speed double precision,
    eta bigint,
    error text,
    filename text,
    filesize bigint,
    ext text,
    duration double precision,
    thumbnail_file text,
    remote_thumbnail text,
    started_at timestamptz,
    finished_at timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    error_kind text,
    playlist_id text,
    playlist_index integer,
    audio_format text,
    subtitle_langs jsonb NOT NULL DEFAULT '[]',
    subtitle_files jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX tasks_by_status ON tasks (status, seq);
CREATE INDEX tasks_by_url ON tasks (url);
CREATE INDEX tasks_by_playlist ON tasks (playlist_id, playlist_index);
