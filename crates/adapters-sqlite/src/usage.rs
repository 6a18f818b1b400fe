//! Filtered reads of the sessions table: the `WHERE` clause a [`SessionFilter`] makes,
//! and the counts and sums computed in place (one statement, no session crosses into Rust).

use lulu_domain::ports::{
    order_usage, subtree_bounds, without_trailing_slash, SessionFilter, SessionSummary,
    UsageGrouping, UsageRow,
};
use lulu_domain::SessionStatus;
use rusqlite::{ToSql, Transaction};

use crate::codec::time_text;
use crate::error::DbError;

/// A filter as SQL: a condition on the sessions table `s` and its named values.
pub(crate) struct FilterSql {
    /// The condition (`1` when the filter covers everything).
    pub condition: String,
    /// The values of its named parameters.
    pub values: Vec<(&'static str, String)>,
}

impl FilterSql {
    /// The condition for `filter`, for counting and summing: each part can be served by
    /// an index (the statuses by `sessions_by_status`, the directory as a range, the time
    /// by `sessions_by_updated_at`).
    pub fn of(filter: &SessionFilter) -> Self {
        Self::with_statuses(filter, "s.status")
    }

    /// The condition for `filter`, for a listing newest first. Several statuses are
    /// tested row by row (`+s.status` keeps the planner off `sessions_by_status`): their
    /// ranges of that index are each in order but not together, and sorting every row
    /// they hold to return the first page costs far more than walking
    /// `sessions_by_updated_at` until the page is full.
    pub fn ordered(filter: &SessionFilter) -> Self {
        let status = if filter.statuses.len() > 1 {
            "+s.status"
        } else {
            "s.status"
        };
        Self::with_statuses(filter, status)
    }

    fn with_statuses(filter: &SessionFilter, status: &str) -> Self {
        let mut parts = Vec::new();
        let mut values = Vec::new();
        if !filter.statuses.is_empty() {
            // Words of a closed set, never user text.
            let words: Vec<String> = filter
                .statuses
                .iter()
                .map(|status| format!("'{}'", status.as_str()))
                .collect();
            parts.push(format!("{status} IN ({})", words.join(", ")));
        }
        if let Some(dir) = &filter.cwd {
            let (start, end) = subtree_bounds(dir);
            parts.push("(s.cwd = :cwd OR (s.cwd >= :cwd_start AND s.cwd < :cwd_end))".to_owned());
            values.extend([
                (":cwd", without_trailing_slash(dir).to_owned()),
                (":cwd_start", start),
                (":cwd_end", end),
            ]);
        }
        if let Some(since) = filter.since {
            parts.push("s.updated_at >= :since".to_owned());
            values.push((":since", time_text(since)));
        }
        let condition = if parts.is_empty() {
            "1".to_owned()
        } else {
            parts.join(" AND ")
        };
        Self { condition, values }
    }

    /// Its values with `extra`, as rusqlite takes named parameters.
    pub fn params<'a>(
        &'a self,
        extra: &[(&'static str, &'a dyn ToSql)],
    ) -> Vec<(&'static str, &'a dyn ToSql)> {
        self.values
            .iter()
            .map(|(name, value)| (*name, value as &dyn ToSql))
            .chain(extra.iter().copied())
            .collect()
    }
}

/// How many sessions `filter` covers, how many are live, their cost.
pub(crate) fn summarize(
    transaction: &Transaction<'_>,
    filter: &SessionFilter,
) -> Result<SessionSummary, DbError> {
    let live: Vec<&str> = SessionStatus::ALL
        .into_iter()
        .filter(|status| status.is_live())
        .map(SessionStatus::as_str)
        .collect();
    let filter = FilterSql::of(filter);
    let sql = format!(
        "SELECT COUNT(*), COALESCE(SUM(s.status IN ('{}')), 0), COALESCE(SUM(s.cost_usd), 0.0) \
         FROM sessions s WHERE {}",
        live.join("', '"),
        filter.condition
    );
    let summary =
        transaction
            .prepare_cached(&sql)?
            .query_row(filter.params(&[]).as_slice(), |row| {
                Ok(SessionSummary {
                    sessions: row.get(0)?,
                    live: row.get(1)?,
                    cost_usd: row.get(2)?,
                })
            })?;
    Ok(summary)
}

/// Cost, tokens, turns and sessions over what `filter` covers, one row per group.
pub(crate) fn usage(
    transaction: &Transaction<'_>,
    filter: &SessionFilter,
    grouping: UsageGrouping,
) -> Result<Vec<UsageRow>, DbError> {
    let filter = FilterSql::of(filter);
    let sums = "COUNT(*), COALESCE(SUM(s.num_turns), 0), COALESCE(SUM(s.input_tokens), 0), \
         COALESCE(SUM(s.output_tokens), 0), COALESCE(SUM(s.cost_usd), 0.0)";
    let offset;
    let (sql, extra): (String, Vec<(&'static str, &dyn ToSql)>) = match grouping {
        // The total is one aggregate, no grouping (a GROUP BY of a constant still sorts).
        UsageGrouping::Total => (
            format!(
                "SELECT '', {sums} FROM sessions s WHERE {}",
                filter.condition
            ),
            Vec::new(),
        ),
        UsageGrouping::Day { offset: zone } => {
            let seconds = zone.local_minus_utc();
            offset = format!("{seconds:+} seconds");
            // Summed per slice of UTC time that lies within one local day (an hour for
            // whole-hour zones: the prefix `sessions_usage_by_hour` holds), then per day:
            // the date is computed once per slice, not once per session.
            let (prefix, rest) = if seconds % 3600 == 0 {
                (13, ":00:00")
            } else if seconds % 60 == 0 {
                (16, ":00")
            } else {
                (19, "")
            };
            let sql = format!(
                "SELECT date(slice || '{rest}', :offset), SUM(n), SUM(turns), SUM(input), \
                     SUM(output), SUM(cost) \
                 FROM (SELECT substr(s.updated_at, 1, {prefix}) AS slice, COUNT(*) AS n, \
                         COALESCE(SUM(s.num_turns), 0) AS turns, \
                         COALESCE(SUM(s.input_tokens), 0) AS input, \
                         COALESCE(SUM(s.output_tokens), 0) AS output, \
                         COALESCE(SUM(s.cost_usd), 0.0) AS cost \
                       FROM sessions s WHERE {} GROUP BY 1) \
                 GROUP BY 1",
                filter.condition
            );
            (sql, vec![(":offset", &offset as &dyn ToSql)])
        }
        UsageGrouping::Cwd => (
            format!(
                "SELECT s.cwd, {sums} FROM sessions s WHERE {} GROUP BY 1",
                filter.condition
            ),
            Vec::new(),
        ),
        UsageGrouping::Model => (
            format!(
                "SELECT COALESCE(json_extract(s.options, '$.model'), ''), {sums} \
                 FROM sessions s WHERE {} GROUP BY 1",
                filter.condition
            ),
            Vec::new(),
        ),
    };
    let mut statement = transaction.prepare_cached(&sql)?;
    let rows = statement.query_map(filter.params(&extra).as_slice(), |row| {
        Ok(UsageRow {
            key: row.get(0)?,
            sessions: row.get(1)?,
            turns: row.get(2)?,
            input_tokens: row.get(3)?,
            output_tokens: row.get(4)?,
            cost_usd: row.get(5)?,
        })
    })?;
    let mut rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    // An aggregate without grouping has its one row even when nothing is covered.
    rows.retain(|row| row.sessions > 0);
    order_usage(&mut rows, grouping);
    Ok(rows)
}
