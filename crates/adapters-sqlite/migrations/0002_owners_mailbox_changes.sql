-- Schema version 2: what several Lulu processes need to share one file.
-- Owners hold leases on the live sessions they supervise, other processes leave control
-- requests in a mailbox, and a change counter lets pollers ask "what changed since X".

-- The process supervising a live session (NULL once the session is no longer live).
ALTER TABLE sessions ADD COLUMN owner_id TEXT;
CREATE INDEX sessions_by_owner ON sessions (owner_id) WHERE owner_id IS NOT NULL;

-- One global counter, bumped by every write a poller should see. Writes are serialised by
-- IMMEDIATE transactions, so counter order is commit order and a cursor never skips one.
CREATE TABLE change_counter (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO change_counter (id, value) VALUES (1, 1);

-- Rows that existed before version 2 count as changed at counter value 1.
ALTER TABLE sessions ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 1;
CREATE INDEX sessions_by_change ON sessions (change_seq);

-- Transcript progress: the highest stored seq and when it last grew.
ALTER TABLE runs ADD COLUMN last_seq INTEGER;
ALTER TABLE runs ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 1;
UPDATE runs SET last_seq = (SELECT max(seq) FROM events WHERE events.run_key = runs.key);
CREATE INDEX runs_by_change ON runs (change_seq);

-- Deleted sessions, so pollers can drop them too.
CREATE TABLE session_tombstones (
    session_id TEXT PRIMARY KEY NOT NULL,
    change_seq INTEGER NOT NULL
);
CREATE INDEX session_tombstones_by_change ON session_tombstones (change_seq);

-- Leases of the processes that own runs.
CREATE TABLE owners (
    owner_id     TEXT PRIMARY KEY NOT NULL,
    pid          INTEGER NOT NULL,
    start_time   INTEGER NOT NULL, -- clock ticks after boot: pins the pid down
    host         TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);

-- Processes of a run's tree, so recovery can kill their groups safely.
CREATE TABLE run_processes (
    run_key    INTEGER NOT NULL REFERENCES runs (key) ON DELETE CASCADE,
    pid        INTEGER NOT NULL,
    pgid       INTEGER NOT NULL,
    start_time INTEGER NOT NULL,
    PRIMARY KEY (run_key, pid, start_time)
);

-- The mailbox: interrupt / resume requests from other processes, and their answers.
CREATE TABLE control_requests (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id     TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    action         TEXT NOT NULL CHECK (action IN ('interrupt', 'resume')),
    prompt         TEXT, -- the follow-up prompt of a resume
    requested_at   TEXT NOT NULL,
    claimed_by     TEXT, -- the owner carrying it out
    claimed_at     TEXT,
    answered_at    TEXT,
    answer         TEXT CHECK (answer IN ('succeeded', 'refused')),
    answer_status  TEXT, -- the session's status after a success
    answer_message TEXT  -- why it was refused
);

CREATE INDEX control_requests_unanswered ON control_requests (session_id)
    WHERE answered_at IS NULL;
