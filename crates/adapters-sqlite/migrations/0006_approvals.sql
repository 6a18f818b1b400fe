-- Schema version 6: permission requests, and the `needs_approval` and `idle` statuses.
--
-- The status CHECK cannot be altered in place, so `sessions` is rebuilt (SQLite's
-- documented procedure; this migration runs with foreign keys off, and the migrator runs
-- `PRAGMA foreign_key_check` before it commits). Every row and column is kept.

CREATE TABLE sessions_v6 (
    id                TEXT PRIMARY KEY NOT NULL,
    title             TEXT NOT NULL,
    cwd               TEXT NOT NULL,
    prompt            TEXT NOT NULL,
    options           TEXT NOT NULL, -- AgentOptions as JSON
    status            TEXT NOT NULL CHECK (status IN ('queued', 'starting', 'running',
                          'needs_approval', 'idle', 'interrupting', 'interrupted',
                          'completed', 'failed')),
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
    num_turns         INTEGER NOT NULL,
    owner_id          TEXT,
    change_seq        INTEGER NOT NULL DEFAULT 1,
    lost_events       INTEGER NOT NULL DEFAULT 0,
    permission_denials INTEGER NOT NULL DEFAULT 0
);

INSERT INTO sessions_v6 (id, title, cwd, prompt, options, status, created_at, updated_at,
    resume_count, active_run_id, last_resume_at, last_error, agent_established, cost_usd,
    input_tokens, output_tokens, num_turns, owner_id, change_seq, lost_events,
    permission_denials)
SELECT id, title, cwd, prompt, options, status, created_at, updated_at, resume_count,
    active_run_id, last_resume_at, last_error, agent_established, cost_usd, input_tokens,
    output_tokens, num_turns, owner_id, change_seq, lost_events, permission_denials
FROM sessions;

DROP TABLE sessions;
ALTER TABLE sessions_v6 RENAME TO sessions;

CREATE INDEX sessions_by_updated_at ON sessions (updated_at);
CREATE INDEX sessions_by_status ON sessions (status, updated_at);
CREATE INDEX sessions_by_owner ON sessions (owner_id) WHERE owner_id IS NOT NULL;
CREATE INDEX sessions_by_change ON sessions (change_seq);

-- Every permission request a run made, kept after it closed (answered, cancelled by the
-- agent, or cleared when its turn or run ended). An answer is stored with a conditional
-- UPDATE of a `pending` row, so of two answers exactly one wins.
CREATE TABLE approvals (
    key          INTEGER PRIMARY KEY,
    session_id   TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    request_id   TEXT NOT NULL,        -- the agent's id, what an answer names
    request      TEXT NOT NULL,        -- ApprovalRequest as JSON
    state        TEXT NOT NULL CHECK (state IN ('pending', 'answered', 'cancelled', 'cleared')),
    answer       TEXT,                 -- ApprovalAnswer as JSON, once answered
    requested_at TEXT NOT NULL,
    closed_at    TEXT,
    UNIQUE (session_id, request_id)
);

CREATE INDEX approvals_pending ON approvals (session_id, key) WHERE state = 'pending';
