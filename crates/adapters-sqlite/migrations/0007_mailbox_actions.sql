-- Schema version 7: the mailbox carries every lifecycle operation on a live session, not
-- only interrupt and resume: a permission answer, a follow-up message, a close, and the
-- mode of an interrupt (a forced one stays forced).
--
-- The action CHECK cannot be altered in place, so `control_requests` is rebuilt (nothing
-- references it). Every row is kept, and so are the ids: a requester may be waiting on one.

CREATE TABLE control_requests_v7 (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id     TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    action         TEXT NOT NULL CHECK (action IN ('interrupt', 'resume', 'answer', 'send',
                       'close')),
    prompt         TEXT, -- the follow-up prompt of a resume, the message of a send
    detail         TEXT, -- JSON: an interrupt's mode, an answer's request id and answer
    requested_at   TEXT NOT NULL,
    claimed_by     TEXT, -- the owner carrying it out
    claimed_at     TEXT,
    answered_at    TEXT,
    answer         TEXT CHECK (answer IN ('succeeded', 'refused')),
    answer_status  TEXT, -- the session's status after a success
    answer_message TEXT, -- why it was refused
    answer_code    TEXT  -- a stable word for programs
);

INSERT INTO control_requests_v7 (id, session_id, action, prompt, requested_at, claimed_by,
    claimed_at, answered_at, answer, answer_status, answer_message, answer_code)
SELECT id, session_id, action, prompt, requested_at, claimed_by, claimed_at, answered_at,
    answer, answer_status, answer_message, answer_code
FROM control_requests;

-- Ids already handed out (also those of deleted rows) are never handed out again.
UPDATE sqlite_sequence
SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'control_requests'), 0))
WHERE name = 'control_requests_v7';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'control_requests_v7', seq FROM sqlite_sequence
WHERE name = 'control_requests'
    AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'control_requests_v7');

DROP TABLE control_requests;
ALTER TABLE control_requests_v7 RENAME TO control_requests;

CREATE INDEX control_requests_unanswered ON control_requests (session_id)
    WHERE answered_at IS NULL;
