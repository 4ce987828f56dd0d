-- The purge deletes by expiry: index what it filters on, so it never scans a whole table.
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX interactions_expires ON interactions (expires_at);
CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE INDEX grant_access_tokens_expires ON grant_access_tokens (expires_at);
CREATE INDEX denied_access_tokens_expires ON denied_access_tokens (expires_at);
CREATE INDEX device_codes_expires ON device_codes (expires_at);
CREATE INDEX pushed_requests_expires ON pushed_requests (expires_at);
CREATE INDEX audit_events_at ON audit_events (at);
