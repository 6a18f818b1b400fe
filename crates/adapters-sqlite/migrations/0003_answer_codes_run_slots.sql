-- Schema version 3: what the runtime's owners need on top of version 2.

-- A refusal carries a stable word for programs besides its message.
ALTER TABLE control_requests ADD COLUMN answer_code TEXT;

-- Run slots shared by every process: a row while a session may have a live run. A slot of
-- a settled session, or of an owner whose lease lapsed, is freed by the next taker.
CREATE TABLE run_slots (
    session_id TEXT PRIMARY KEY NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    owner_id   TEXT NOT NULL,
    granted_at TEXT NOT NULL
);
