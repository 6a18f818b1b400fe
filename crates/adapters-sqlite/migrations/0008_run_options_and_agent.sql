-- Schema version 8: what each run used. A resume may override some of the session's
-- options for its run, and the agent says which model and CLI version it is.

-- AgentOptions as JSON: the options the run was launched with. NULL for runs stored before
-- version 8, which all used their session's options (read back as those).
ALTER TABLE runs ADD COLUMN options TEXT;

-- The model and Claude Code CLI version of the run's first `system/init` line, once it came.
ALTER TABLE runs ADD COLUMN model TEXT;
ALTER TABLE runs ADD COLUMN cli_version TEXT;

-- Runs stored before version 7 take them from their transcript's first `init` line. The
-- CLI writes it among a run's first lines, so only those are looked at: a long run without
-- one costs no scan of its whole transcript.
UPDATE runs SET
    model = (SELECT json_extract(e.json, '$.model') FROM events e
             WHERE e.run_key = runs.key AND e.seq < 100 AND e.kind = 'init'
             ORDER BY e.seq LIMIT 1),
    cli_version = (SELECT json_extract(e.json, '$.version') FROM events e
                   WHERE e.run_key = runs.key AND e.seq < 100 AND e.kind = 'init'
                   ORDER BY e.seq LIMIT 1);
