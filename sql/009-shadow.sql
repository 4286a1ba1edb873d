-- 009: mailbox mode shadow. A shadow action is decided and composed exactly as mode auto would,
-- and nothing leaves: its row is state 'skipped' with shadow = 1 (the CHECK of actions.state in
-- 001 cannot be widened in place, and rebuilding the table would cascade into the rows that
-- refer to it), and shadow_text keeps what would have left: the mail as sendmail would have
-- read it, or a webhook's JSON body. Retention empties shadow_text with the message's content.
ALTER TABLE actions ADD COLUMN shadow INTEGER NOT NULL DEFAULT 0;
ALTER TABLE actions ADD COLUMN shadow_text BLOB;
