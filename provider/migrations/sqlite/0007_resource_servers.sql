-- RFC 8707 resource servers as records of their own: the registry the provider issues
-- access tokens for (identifier = the tokens' aud; data = the record as JSON).
CREATE TABLE resource_servers (
    identifier TEXT PRIMARY KEY NOT NULL,
    data       TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
