-- OpenID Connect Back-Channel Logout 1.0: which clients with a backchannel_logout_uri received
-- tokens in which SSO session (sid), until the session ends; and the logout tokens owed to
-- them, kept here so that deliveries survive a restart (retried with back-off, bounded).
CREATE TABLE session_clients (
    sid        TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (sid, client_id)
);
CREATE INDEX session_clients_subject ON session_clients (subject);
CREATE INDEX session_clients_expiry ON session_clients (expires_at);

CREATE TABLE logout_deliveries (
    id              TEXT PRIMARY KEY,
    sid             TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX logout_deliveries_due ON logout_deliveries (next_attempt_at);

-- The session id clients see (sid): kept when the same user signs in again in this browser
-- (a new cookie, the same SSO session), so that a later logout reaches every client.
ALTER TABLE sessions ADD COLUMN sid TEXT;
