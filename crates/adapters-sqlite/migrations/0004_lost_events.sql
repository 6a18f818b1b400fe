-- Schema version 4: transcript lines that could not be stored are counted on the session.

-- How many lines the agent wrote that were dropped because the store refused them (a full
-- disk, say): a session whose transcript is incomplete says so.
ALTER TABLE sessions ADD COLUMN lost_events INTEGER NOT NULL DEFAULT 0;
