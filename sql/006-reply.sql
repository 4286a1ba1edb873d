-- 006: the reply text is asked of the model in a request of its own, only for mail that gets
-- one. See README.schema (classifications).

ALTER TABLE classifications ADD COLUMN reply_settled INTEGER NOT NULL DEFAULT 1;
ALTER TABLE classifications ADD COLUMN reply_error TEXT;
ALTER TABLE classifications ADD COLUMN reply_latency_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE classifications ADD COLUMN reply_prompt_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE classifications ADD COLUMN reply_completion_tokens INTEGER NOT NULL DEFAULT 0;
