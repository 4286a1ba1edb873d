-- 007: conversations: every inbound message joins one, with its ordered history (what the
-- correspondent wrote, what we answered, what a person of the site wrote), and the mail staff
-- sent outside that takes a conversation over. See README.schema.

CREATE TABLE conversations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox      TEXT    NOT NULL,
    counterpart  TEXT    NOT NULL,
    subject      TEXT,
    subject_key  TEXT    NOT NULL,
    status       TEXT    NOT NULL DEFAULT 'active'
                 CHECK (status IN ('active', 'stopped', 'human')),
    instructions TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX conversations_thread ON conversations (mailbox, counterpart, subject_key, updated_at);
CREATE INDEX conversations_updated ON conversations (updated_at);

CREATE TABLE conversation_messages (
    id           INTEGER PRIMARY KEY,
    conversation INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role         TEXT    NOT NULL CHECK (role IN ('user', 'assistant', 'human')),
    message      INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    message_id   TEXT,
    author       TEXT,
    text         TEXT    NOT NULL,
    sources      TEXT,
    created_at   INTEGER NOT NULL
);
CREATE INDEX conversation_messages_message_id ON conversation_messages (message_id);
CREATE INDEX conversation_messages_conversation ON conversation_messages (conversation, id);
CREATE INDEX conversation_messages_message ON conversation_messages (message);

ALTER TABLE messages ADD COLUMN conversation INTEGER REFERENCES conversations (id);
CREATE INDEX messages_conversation ON messages (conversation);

-- What the conversation commands did (stop, resume, note), beside the message events.
ALTER TABLE events ADD COLUMN conversation INTEGER REFERENCES conversations (id) ON DELETE CASCADE;
CREATE INDEX events_conversation ON events (conversation);

CREATE TABLE staff_messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    mta_queue_id  TEXT,
    envelope_from TEXT    NOT NULL,
    rcpts         TEXT    NOT NULL,
    message_id    TEXT,
    received_at   INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    truncated     INTEGER NOT NULL DEFAULT 0,
    raw           BLOB,
    processed_at  INTEGER,
    conversation  INTEGER REFERENCES conversations (id) ON DELETE SET NULL,
    error         TEXT
);
CREATE INDEX staff_messages_pending ON staff_messages (processed_at, id);
