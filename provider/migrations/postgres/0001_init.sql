-- The PostgreSQL schema: the same tables and columns as the SQLite migrations up to 0004, in
-- PostgreSQL types. Timestamps are unix seconds (BIGINT); secrets are stored as SHA-256
-- digests; JSON is kept as text, as on SQLite, so both backends share their statements.

CREATE TABLE users (
    subject        TEXT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    name           TEXT NOT NULL,
    email          TEXT NOT NULL,
    email_verified BOOLEAN NOT NULL
);

CREATE TABLE clients (
    client_id                 TEXT PRIMARY KEY,
    secret_digest             TEXT,
    metadata                  TEXT NOT NULL,
    created_at                BIGINT NOT NULL,
    registration_token_digest TEXT
);

CREATE TABLE consents (
    subject    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (subject, client_id)
);

CREATE TABLE sessions (
    id_digest  TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    auth_time  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE interactions (
    id         TEXT PRIMARY KEY,
    data       TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX interactions_expires ON interactions (expires_at);

CREATE TABLE authorization_codes (
    code_digest TEXT PRIMARY KEY,
    data        TEXT NOT NULL,
    grant_id    TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    consumed_at BIGINT
);
CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);

CREATE TABLE refresh_tokens (
    token_digest TEXT PRIMARY KEY,
    family_id    TEXT NOT NULL,
    client_id    TEXT,
    data         TEXT NOT NULL,
    issued_at    BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    rotated_at   BIGINT,
    revoked_at   BIGINT,
    grace_used   BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_client ON refresh_tokens (client_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- Access tokens issued for a user grant, so that revoking the grant can deny them.
CREATE TABLE grant_access_tokens (
    jti        TEXT PRIMARY KEY,
    grant_id   TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX grant_access_tokens_grant ON grant_access_tokens (grant_id);
CREATE INDEX grant_access_tokens_expires ON grant_access_tokens (expires_at);

CREATE TABLE denied_access_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX denied_access_tokens_expires ON denied_access_tokens (expires_at);

-- A 'next' key becomes active at activate_at; a 'retired' key is removed at remove_at.
CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    alg         TEXT NOT NULL,
    private_pem TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    activate_at BIGINT,
    remove_at   BIGINT
);

CREATE TABLE device_codes (
    device_code_digest TEXT PRIMARY KEY,
    user_code          TEXT NOT NULL UNIQUE,
    client_id          TEXT NOT NULL,
    scope              TEXT NOT NULL,
    audience           TEXT NOT NULL,
    status             TEXT NOT NULL,
    subject            TEXT,
    auth_time          BIGINT,
    interval_secs      BIGINT NOT NULL,
    last_poll_at       BIGINT,
    expires_at         BIGINT NOT NULL
);
CREATE INDEX device_codes_expires ON device_codes (expires_at);

CREATE TABLE pushed_requests (
    request_uri_digest TEXT PRIMARY KEY,
    client_id          TEXT NOT NULL,
    params             TEXT NOT NULL,
    expires_at         BIGINT NOT NULL
);
CREATE INDEX pushed_requests_expires ON pushed_requests (expires_at);

CREATE TABLE audit_events (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        BIGINT NOT NULL,
    kind      TEXT NOT NULL,
    client_id TEXT,
    subject   TEXT,
    detail    TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
