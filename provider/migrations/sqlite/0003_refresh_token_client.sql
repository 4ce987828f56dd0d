-- The client of each refresh token as a column (it was only inside the JSON), so deleting a
-- client revokes its tokens with the same statement on every backend.
ALTER TABLE refresh_tokens ADD COLUMN client_id TEXT;
UPDATE refresh_tokens SET client_id = json_extract(data, '$.client_id');
CREATE INDEX refresh_tokens_client ON refresh_tokens (client_id);
