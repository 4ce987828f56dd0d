-- Second factors: a user's TOTP secret (sealed with a key derived from the server secret),
-- whether it was confirmed with a first code, and the last 30-second step used (RFC 6238 §5.2:
-- a code is accepted once); single-use recovery codes (SHA-256 digests); and how a session was
-- signed in (amr, space-separated, OIDC Core §2 / RFC 8176).
CREATE TABLE user_mfa (
    subject    TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    confirmed  BOOLEAN NOT NULL DEFAULT FALSE,
    last_step  BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);

CREATE TABLE recovery_codes (
    subject     TEXT NOT NULL,
    code_digest TEXT NOT NULL,
    PRIMARY KEY (subject, code_digest)
);

ALTER TABLE sessions ADD COLUMN amr TEXT;
