-- 010: grounded answers. reply_sources is the JSON array of the sources the reply names
-- ([{"number", "path", "heading"}], path and heading null for a number the prompt did not give),
-- NULL when no sources were asked for (the mailbox has no knowledge); reply_hold says why the
-- reply may not go without a person ([llm] redact = pii: a placeholder the message did not have,
-- an IBAN or a card number), NULL when nothing does.
ALTER TABLE classifications ADD COLUMN reply_sources TEXT;
ALTER TABLE classifications ADD COLUMN reply_hold TEXT;
