-- Schema version 5: tool calls the agent was refused (they needed approval) are counted on
-- the session, so `show` can say a "completed" session did not do everything it tried.
ALTER TABLE sessions ADD COLUMN permission_denials INTEGER NOT NULL DEFAULT 0;
