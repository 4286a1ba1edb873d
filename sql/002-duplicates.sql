-- 002: a message recorded again (the client retried after a 4xx, or both the milter and the
-- pipe saw it) points at the first copy and is not processed again.
ALTER TABLE messages ADD COLUMN duplicate_of INTEGER REFERENCES messages (id);
