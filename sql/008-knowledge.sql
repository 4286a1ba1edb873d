-- 008: the site's own documents that answers are grounded in ([mailbox] knowledge), split into
-- passages and indexed with FTS5. See README.schema.

CREATE TABLE knowledge_files (
    id          INTEGER PRIMARY KEY,
    mailbox     TEXT    NOT NULL,
    path        TEXT    NOT NULL,
    position    INTEGER NOT NULL DEFAULT 0,
    size        INTEGER,
    mtime_ns    INTEGER,
    sha256      TEXT,
    passages    INTEGER NOT NULL DEFAULT 0,
    chars       INTEGER NOT NULL DEFAULT 0,
    indexed_at  INTEGER,
    warning     TEXT,
    error       TEXT,
    UNIQUE (mailbox, path)
);

CREATE VIRTUAL TABLE knowledge_passages USING fts5 (
    text,
    heading,
    file UNINDEXED,
    ordinal UNINDEXED,
    mailbox UNINDEXED,
    chars UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);
