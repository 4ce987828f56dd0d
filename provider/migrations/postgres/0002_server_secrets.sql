-- Secrets every node shares (the HMAC key of device cookies and logout confirmations), created
-- by whichever node starts first.
CREATE TABLE server_secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
