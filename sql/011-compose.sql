-- 011: mailtriagectl compose. The first message of a conversation the site starts is a row of
-- messages with intake 'compose' (state done: no worker takes it), so that its action, its
-- draft and its conversation hang off a message like every other mail we sent, and list, show,
-- forget and retention treat it alike. The CHECK of messages.intake cannot be widened in
-- place, and rebuilding the table would cascade into every row that refers to it, so the column
-- is made again: renamed, added anew with the wider CHECK (its DEFAULT is never used: every
-- INSERT names the intake), copied, and the old one dropped (SQLite 3.35 and later).
ALTER TABLE messages RENAME COLUMN intake TO intake_010;
ALTER TABLE messages ADD COLUMN intake TEXT NOT NULL DEFAULT 'milter'
    CHECK (intake IN ('milter', 'pipe', 'test', 'compose'));
UPDATE messages SET intake = intake_010;
ALTER TABLE messages DROP COLUMN intake_010;
