-- Token lifecycle: registration management, device grant, PAR, refresh grace window,
-- key rotation schedule, audit log.

ALTER TABLE clients ADD COLUMN registration_token_digest TEXT;

ALTER TABLE refresh_tokens ADD COLUMN grace_used INTEGER NOT NULL DEFAULT 0;

-- A 'next' key becomes active at activate_at; a 'retired' key is removed at remove_at.
ALTER TABLE signing_keys ADD COLUMN activate_at INTEGER;
ALTER TABLE signing_keys ADD COLUMN remove_at INTEGER;

CREATE TABLE device_codes (
    device_code_digest TEXT PRIMARY KEY,
    user_code          TEXT NOT NULL UNIQUE,
    client_id          TEXT NOT NULL,
    scope              TEXT NOT NULL,
    audience           TEXT NOT NULL,
    status             TEXT NOT NULL,
    subject            TEXT,
    auth_time          INTEGER,
    interval_secs      INTEGER NOT NULL,
    last_poll_at       INTEGER,
    expires_at         INTEGER NOT NULL
);

CREATE TABLE pushed_requests (
    request_uri_digest TEXT PRIMARY KEY,
    client_id          TEXT NOT NULL,
    params             TEXT NOT NULL,
    expires_at         INTEGER NOT NULL
);

CREATE TABLE audit_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    client_id TEXT,
    subject   TEXT,
    detail    TEXT NOT NULL
);
