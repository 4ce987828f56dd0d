-- Operating: accounts can be disabled; refresh tokens and sessions can be found by user (to end
-- everything of a disabled account).
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE refresh_tokens ADD COLUMN subject TEXT;
UPDATE refresh_tokens SET subject = json_extract(data, '$.subject');
CREATE INDEX refresh_tokens_subject ON refresh_tokens (subject);
CREATE INDEX sessions_subject ON sessions (subject);
