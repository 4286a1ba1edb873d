-- 004: when a mail was handed to sendmail (or a webhook posted), recorded before it starts.
-- A pending action without it never started and may be performed afresh; a pending action
-- with it has an unknown outcome: the attempt stopped after it started and before it recorded
-- the outcome, so its message is held for a person instead of sending the mail again.
ALTER TABLE actions ADD COLUMN started_at INTEGER;
-- Before this migration a pending action could have been started: unknown, as the rule says.
UPDATE actions SET started_at = created_at WHERE state = 'pending';
