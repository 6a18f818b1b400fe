//! Which sessions a listing or a usage summary covers, and usage summed by group.

use chrono::{DateTime, FixedOffset, Utc};

use crate::session::{Session, SessionStatus};

/// Which sessions a listing or a summary covers; the default covers every session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFilter {
    /// Only sessions in one of these statuses (any status when empty).
    pub statuses: Vec<SessionStatus>,
    /// Only sessions working in this directory or below it (an absolute path).
    pub cwd: Option<String>,
    /// Only sessions updated at or after this instant.
    pub since: Option<DateTime<Utc>>,
}

impl SessionFilter {
    /// Only sessions in `status` (any, when `None`).
    pub fn status(status: Option<SessionStatus>) -> Self {
        Self {
            statuses: status.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Whether it covers every session.
    pub fn is_everything(&self) -> bool {
        self.statuses.is_empty() && self.cwd.is_none() && self.since.is_none()
    }

    /// Whether `session` is covered.
    pub fn matches(&self, session: &Session) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&session.status))
            && self
                .cwd
                .as_deref()
                .is_none_or(|dir| is_within(session.cwd.as_str(), dir))
            && self.since.is_none_or(|since| session.updated_at >= since)
    }
}

/// Whether `path` is `dir` or below it (by path components, not by text prefix).
pub fn is_within(path: &str, dir: &str) -> bool {
    let (start, _) = subtree_bounds(dir);
    path == without_trailing_slash(dir) || path.starts_with(&start)
}

/// `dir` without a trailing `/` (but `/` itself stays).
pub fn without_trailing_slash(dir: &str) -> &str {
    match dir.trim_end_matches('/') {
        "" => "/",
        base => base,
    }
}

/// The text range `[start, end)` holding every path strictly below `dir`: `dir/` up to
/// `dir0` (`0` follows `/` in byte order), so an index on the path serves the filter.
pub fn subtree_bounds(dir: &str) -> (String, String) {
    let base = dir.trim_end_matches('/');
    (format!("{base}/"), format!("{base}0"))
}

/// How [`UsageRow`]s are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageGrouping {
    /// One row for everything covered.
    Total,
    /// One row per day of the last update, in the time zone `offset` (newest first).
    Day {
        /// The time zone's offset from UTC.
        offset: FixedOffset,
    },
    /// One row per working directory (costliest first).
    Cwd,
    /// One row per model asked for (`--model`; an empty key: the agent's default).
    Model,
}

impl UsageGrouping {
    /// The group `session` counts in.
    pub fn key(self, session: &Session) -> String {
        match self {
            Self::Total => String::new(),
            Self::Day { offset } => session
                .updated_at
                .with_timezone(&offset)
                .date_naive()
                .to_string(),
            Self::Cwd => session.cwd.as_str().to_owned(),
            Self::Model => session.options.model.clone().unwrap_or_default(),
        }
    }
}

/// Usage summed over one group of sessions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsageRow {
    /// The group: a day (`2026-12-01`), a directory, a model; empty for the total.
    pub key: String,
    /// Sessions.
    pub sessions: u64,
    /// Agent turns.
    pub turns: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cost in US dollars.
    pub cost_usd: f64,
}

impl UsageRow {
    /// Counts `session` in.
    pub fn add(&mut self, session: &Session) {
        let totals = session.totals;
        self.sessions += 1;
        self.turns += totals.num_turns;
        self.input_tokens += totals.input_tokens;
        self.output_tokens += totals.output_tokens;
        self.cost_usd += totals.cost_usd;
    }

    /// Counts another row in.
    pub fn merge(&mut self, other: &Self) {
        self.sessions += other.sessions;
        self.turns += other.turns;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cost_usd += other.cost_usd;
    }
}

/// Puts usage rows in their grouping's order: days newest first, others costliest first
/// (ties by key).
pub fn order_usage(rows: &mut [UsageRow], grouping: UsageGrouping) {
    match grouping {
        UsageGrouping::Day { .. } => rows.sort_by(|a, b| b.key.cmp(&a.key)),
        _ => rows.sort_by(|a, b| {
            b.cost_usd
                .total_cmp(&a.cost_usd)
                .then_with(|| a.key.cmp(&b.key))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::RunChange;
    use crate::ports::{SessionStore as _, SessionWrite};
    use crate::testing::{epoch, run_id, session_id, spec, MemoryStore};
    use crate::WorkingDir;

    /// More sessions than one page of the defaults' reads.
    const MANY: u32 = 1_200;

    async fn many_sessions() -> MemoryStore {
        let store = MemoryStore::default();
        for n in 0..MANY {
            let (mut session, run) = Session::queued(session_id(n), run_id(n), spec("go"), epoch());
            session.updated_at = epoch() + chrono::Duration::seconds(i64::from(n));
            session.status = if n % 2 == 0 {
                SessionStatus::Completed
            } else {
                SessionStatus::Failed
            };
            session.cwd = WorkingDir::parse(if n % 3 == 0 { "/a/b" } else { "/a" }).unwrap();
            session.options.model = (n % 4 == 0).then(|| "opus".to_owned());
            session.totals.num_turns = 2;
            session.totals.cost_usd = 0.5;
            let write = SessionWrite {
                session,
                run_change: Some(RunChange::Created(run)),
                approval_change: None,
            };
            store.save(&write).await.unwrap();
        }
        store
    }

    #[tokio::test]
    async fn the_default_sums_read_every_page_and_group_by_key() {
        let store = many_sessions().await;
        let all = store
            .usage(&SessionFilter::default(), UsageGrouping::Total)
            .await
            .unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(
            (all[0].sessions, all[0].turns),
            (u64::from(MANY), 2 * u64::from(MANY))
        );
        let by_model = store
            .usage(&SessionFilter::default(), UsageGrouping::Model)
            .await
            .unwrap();
        let counts: Vec<(&str, u64)> = by_model
            .iter()
            .map(|row| (row.key.as_str(), row.sessions))
            .collect();
        assert_eq!(counts, [("", 900), ("opus", 300)], "costliest first");
        let below = SessionFilter {
            statuses: vec![SessionStatus::Completed],
            cwd: Some("/a/b".to_owned()),
            since: None,
        };
        let summary = store.summarize(&below).await.unwrap();
        assert_eq!(summary.sessions, 200, "even and a multiple of 3");
    }

    #[test]
    fn a_directory_covers_itself_and_what_is_below_it_only() {
        assert!(is_within("/srv/app", "/srv/app"));
        assert!(is_within("/srv/app/web", "/srv/app"));
        assert!(is_within("/srv/app/web", "/srv/app/"));
        assert!(!is_within("/srv/apple", "/srv/app"));
        assert!(!is_within("/srv", "/srv/app"));
        assert!(is_within("/anything", "/"));
    }

    #[test]
    fn the_subtree_bounds_hold_exactly_the_paths_below() {
        let (start, end) = subtree_bounds("/srv/app");
        for (path, below) in [
            ("/srv/app/web", true),
            ("/srv/app/", true),
            ("/srv/app.old", false),
            ("/srv/apple", false),
            ("/srv/app0", false),
        ] {
            let inside = path >= start.as_str() && path < end.as_str();
            assert_eq!(inside, below, "{path}");
        }
    }
}
