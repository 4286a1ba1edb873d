-- 005: the LLM endpoint's state as the processes that call it see it, and the requests made
-- to it (for the budget and `mailtriagectl health`). See README.schema.

CREATE TABLE llm_endpoints (
    url             TEXT    PRIMARY KEY,
    state           TEXT    NOT NULL
                    CHECK (state IN ('ok', 'failing', 'open', 'misconfigured')),
    reason          TEXT,
    http_status     INTEGER,
    failures        INTEGER NOT NULL DEFAULT 0,
    open_until      INTEGER,
    since           INTEGER,
    last_success_at INTEGER,
    last_failure_at INTEGER,
    updated_at      INTEGER NOT NULL,
    updated_by      TEXT,
    endpoint_id     TEXT
);

CREATE TABLE llm_requests (
    id          INTEGER PRIMARY KEY,
    message     INTEGER REFERENCES messages (id) ON DELETE SET NULL,
    started_at  INTEGER NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('pending', 'answered', 'failed')),
    http_status INTEGER,
    tokens      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX llm_requests_started ON llm_requests (started_at);
CREATE INDEX llm_requests_message ON llm_requests (message);
