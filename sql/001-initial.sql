-- 001: the queue, classifications, actions and the audit trail.
-- Times are Unix seconds (UTC). Text is UTF-8. See README.schema.

CREATE TABLE messages (
    -- AUTOINCREMENT: an id, which the logs use as the queue id, is never reused.
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    intake          TEXT    NOT NULL CHECK (intake IN ('milter', 'pipe', 'test')),
    mta_queue_id    TEXT,
    mailbox         TEXT    NOT NULL,
    envelope_from   TEXT,
    rcpts           TEXT    NOT NULL,
    client_addr     TEXT,
    helo            TEXT,
    from_addr       TEXT,
    subject         TEXT,
    message_id      TEXT,
    in_reply_to     TEXT,
    received_at     INTEGER NOT NULL,
    size            INTEGER NOT NULL,
    truncated       INTEGER NOT NULL DEFAULT 0,
    raw             BLOB,
    state           TEXT    NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'working', 'done', 'failed', 'held')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    llm_failures    INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    lease_owner     TEXT,
    last_error      TEXT,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX messages_due ON messages (state, next_attempt_at);
CREATE INDEX messages_lease ON messages (state, lease_until);
CREATE INDEX messages_duplicate ON messages (message_id, mailbox, envelope_from);

CREATE TABLE classifications (
    id                INTEGER PRIMARY KEY,
    message           INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    provider          TEXT    NOT NULL,
    model             TEXT,
    intent            TEXT    NOT NULL,
    confidence        REAL,
    summary           TEXT,
    reply             TEXT,
    valid             INTEGER NOT NULL,
    error             TEXT,
    latency_ms        INTEGER,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    raw_answer        TEXT,
    created_at        INTEGER NOT NULL
);
CREATE INDEX classifications_message ON classifications (message);

CREATE TABLE actions (
    id                  INTEGER PRIMARY KEY,
    message             INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    kind                TEXT    NOT NULL
                        CHECK (kind IN ('reply', 'escalate', 'draft', 'webhook', 'none')),
    reason              TEXT,
    state               TEXT    NOT NULL
                        CHECK (state IN ('pending', 'sent', 'failed', 'skipped')),
    recipient           TEXT,
    envelope_sender     TEXT,
    outgoing_message_id TEXT,
    sendmail_status     INTEGER,
    error               TEXT,
    created_at          INTEGER NOT NULL,
    sent_at             INTEGER
);
CREATE INDEX actions_message ON actions (message);

CREATE TABLE events (
    id      INTEGER PRIMARY KEY,
    message INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    time    INTEGER NOT NULL,
    level   TEXT    NOT NULL CHECK (level IN ('info', 'warning', 'error')),
    text    TEXT    NOT NULL
);
CREATE INDEX events_message ON events (message);
