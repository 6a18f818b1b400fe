-- Schema version 9: `stats --by day` without a date computed per session, and listings
-- read in index order.

-- Sessions are summed per UTC hour (a prefix of the fixed-width `updated_at`) in this index's order,
-- with no sort and no table read, and the hours are then summed into the days of the
-- time zone asked for: for a zone a whole number of hours from UTC, no hour straddles
-- one of its midnights. `updated_at` itself is in it too: SQLite counts an index as
-- covering only if it holds every column the query names, even inside the expression.
CREATE INDEX sessions_usage_by_hour
    ON sessions (substr(updated_at, 1, 13), num_turns, input_tokens, output_tokens, cost_usd,
        updated_at);

-- Listings go newest first with the id breaking ties, a page at a time after a cursor:
-- in this index's order entirely, with no sort of the rows sharing a time.
DROP INDEX sessions_by_updated_at;
CREATE INDEX sessions_by_updated_at ON sessions (updated_at, id);
