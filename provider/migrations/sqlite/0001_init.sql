-- Initial schema. Timestamps are unix seconds (INTEGER); secrets are stored as SHA-256 digests.

CREATE TABLE users (
    subject        TEXT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    name           TEXT NOT NULL,
    email          TEXT NOT NULL,
    email_verified INTEGER NOT NULL
);

CREATE TABLE clients (
    client_id     TEXT PRIMARY KEY,
    secret_digest TEXT,
    metadata      TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE consents (
    subject    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (subject, client_id)
);

CREATE TABLE sessions (
    id_digest  TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    auth_time  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE interactions (
    id         TEXT PRIMARY KEY,
    data       TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE authorization_codes (
    code_digest TEXT PRIMARY KEY,
    data        TEXT NOT NULL,
    grant_id    TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    consumed_at INTEGER
);

CREATE TABLE refresh_tokens (
    token_digest TEXT PRIMARY KEY,
    family_id    TEXT NOT NULL,
    data         TEXT NOT NULL,
    issued_at    INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    rotated_at   INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

-- Access tokens issued for a user grant, so that revoking the grant can deny them.
CREATE TABLE grant_access_tokens (
    jti        TEXT PRIMARY KEY,
    grant_id   TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX grant_access_tokens_grant ON grant_access_tokens (grant_id);

CREATE TABLE denied_access_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    alg         TEXT NOT NULL,
    private_pem TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
