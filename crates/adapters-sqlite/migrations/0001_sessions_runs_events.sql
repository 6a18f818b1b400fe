-- Schema version 1: sessions, their runs and their transcripts.
-- Times are RFC 3339 UTC text with nanoseconds (fixed width, so text order is time order).
-- Ids are hyphenated UUID text. JSON columns hold the domain types' serde form.

PRAGMA application_id = 1280658517; -- 0x4C554C55, "LULU": marks the file as Lulu's

CREATE TABLE sessions (
    id                TEXT PRIMARY KEY NOT NULL,
    title             TEXT NOT NULL,
    cwd               TEXT NOT NULL,
    prompt            TEXT NOT NULL,
    options           TEXT NOT NULL, -- AgentOptions as JSON
    status            TEXT NOT NULL CHECK (status IN ('queued', 'starting', 'running',
                          'interrupting', 'interrupted', 'completed', 'failed')),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    resume_count      INTEGER NOT NULL,
    active_run_id     TEXT,
    last_resume_at    TEXT,
    last_error        TEXT,
    agent_established INTEGER NOT NULL,
    cost_usd          REAL NOT NULL,
    input_tokens      INTEGER NOT NULL,
    output_tokens     INTEGER NOT NULL,
    num_turns         INTEGER NOT NULL
);

-- The dashboard list: newest first, optionally one status.
CREATE INDEX sessions_by_updated_at ON sessions (updated_at);
CREATE INDEX sessions_by_status ON sessions (status, updated_at);

CREATE TABLE runs (
    key        INTEGER PRIMARY KEY, -- compact handle the transcript rows point at
    id         TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('start', 'resume')),
    prompt     TEXT NOT NULL,
    pid        INTEGER,
    started_at TEXT NOT NULL,
    ended_at   TEXT,
    outcome    TEXT, -- RunOutcome as JSON
    exit_code  INTEGER
);

CREATE INDEX runs_by_session ON runs (session_id, started_at);

CREATE TABLE events (
    id      INTEGER PRIMARY KEY, -- append order across all runs
    run_key INTEGER NOT NULL REFERENCES runs (key) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,    -- position within the run, from 0
    at      TEXT NOT NULL,
    kind    TEXT NOT NULL,       -- AgentEvent::kind()
    json    TEXT NOT NULL,       -- AgentEvent as JSON
    UNIQUE (run_key, seq)        -- also the transcript paging index
);
