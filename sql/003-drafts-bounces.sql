-- 003: drafts waiting for a person's approval, and hard bounces of our replies.

CREATE TABLE drafts (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    message             INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    recipient           TEXT    NOT NULL,
    outgoing_message_id TEXT    NOT NULL,
    text                TEXT    NOT NULL,
    state               TEXT    NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'sending', 'sent', 'rejected', 'failed')),
    created_at          INTEGER NOT NULL,
    decided_at          INTEGER,
    decided_by          TEXT,
    reason              TEXT,
    sendmail_status     INTEGER,
    error               TEXT
);
CREATE INDEX drafts_state ON drafts (state, id);
CREATE INDEX drafts_message ON drafts (message);

CREATE TABLE bounces (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    address    TEXT    NOT NULL COLLATE NOCASE,
    action     INTEGER REFERENCES actions (id) ON DELETE SET NULL,
    report     INTEGER REFERENCES messages (id) ON DELETE SET NULL,
    status     TEXT,
    diagnostic TEXT,
    time       INTEGER NOT NULL
);
CREATE INDEX bounces_address ON bounces (address, time);

CREATE INDEX actions_recipient ON actions (recipient, kind, state, sent_at);
CREATE INDEX actions_outgoing ON actions (outgoing_message_id);
