//! The session store port: sessions, their run history and transcripts.

use async_trait::async_trait;

use crate::agent::TranscriptEntry;
use crate::approval::ApprovalChange;
use crate::ids::{RunId, SessionId};
use crate::lifecycle::RunChange;
use crate::session::{Run, Session};

use super::usage::{order_usage, SessionFilter, UsageGrouping, UsageRow};

/// One lifecycle transition's writes: stored together in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionWrite {
    /// The session's new value (inserted or replaced).
    pub session: Session,
    /// The run history change, if any.
    pub run_change: Option<RunChange>,
    /// The permission requests' change, if any.
    pub approval_change: Option<ApprovalChange>,
}

/// Which sessions to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionQuery {
    /// Which sessions.
    pub filter: SessionFilter,
    /// At most this many, newest `updated_at` first (ties: greater id first).
    pub limit: Option<usize>,
    /// Only sessions after this one in that order: the next page of a listing read page
    /// by page, in bounded memory.
    pub after: Option<ListCursor>,
}

/// How many sessions one page of [`SessionStore::summarize`]'s default reads.
const SUMMARY_PAGE: usize = 1000;

/// Sessions counted: how many, how many live, their total cost.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SessionSummary {
    /// Sessions.
    pub sessions: u64,
    /// Of them, live (queued, starting, running or interrupting).
    pub live: u64,
    /// Their total cost, in US dollars.
    pub cost_usd: f64,
}

impl SessionSummary {
    /// Counts `session` in.
    pub fn add(&mut self, session: &Session) {
        self.sessions += 1;
        self.live += u64::from(session.status.is_live());
        self.cost_usd += session.totals.cost_usd;
    }
}

/// Where a page of a session listing ended: its last session's `updated_at` and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListCursor {
    /// The last session's `updated_at`.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// The last session's id.
    pub id: crate::ids::SessionId,
}

impl ListCursor {
    /// The cursor just past `session`.
    pub fn after(session: &Session) -> Self {
        Self {
            updated_at: session.updated_at,
            id: session.id,
        }
    }
}

/// Calls `visit` with every session `filter` covers, read page by page.
async fn each_session<S: SessionStore + ?Sized>(
    store: &S,
    filter: &SessionFilter,
    mut visit: impl FnMut(&Session) + Send,
) -> Result<(), StoreError> {
    let mut query = SessionQuery {
        filter: filter.clone(),
        limit: Some(SUMMARY_PAGE),
        after: None,
    };
    loop {
        let page = store.list_sessions(&query).await?;
        for session in &page {
            visit(session);
        }
        match page.last() {
            Some(last) if page.len() == SUMMARY_PAGE => {
                query.after = Some(ListCursor::after(last));
            }
            _ => return Ok(()),
        }
    }
}

/// Why the store could not do what was asked. Nothing partial was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Another process held the database longer than the busy timeout.
    #[error("the database is busy: {message}; try again")]
    Busy {
        /// Details.
        message: String,
    },
    /// The disk or the database's size limit is full.
    #[error("the database is full: {message}; free some disk space")]
    Full {
        /// Details.
        message: String,
    },
    /// SQLite met damage in the database file (a page that does not read as it should);
    /// nothing was changed.
    #[error(
        "the database {path} is damaged ({problem}): restore a backup or use another database file"
    )]
    Damaged {
        /// The file.
        path: String,
        /// What SQLite reported.
        problem: String,
    },
    /// The referenced session or run does not exist.
    #[error("{what} was not found in the database")]
    NotFound {
        /// What was missing, e.g. `session 8d12e9c7`.
        what: String,
    },
    /// Any other storage failure.
    #[error("storage failed: {message}")]
    Failed {
        /// Details.
        message: String,
    },
}

/// Durable storage of sessions, runs and transcripts.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a session's new value and its run change in one transaction.
    ///
    /// # Errors
    /// [`StoreError`]; on error nothing of `write` was stored.
    async fn save(&self, write: &SessionWrite) -> Result<(), StoreError>;

    /// Reads one session.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read; a missing session is `Ok(None)`.
    async fn session(&self, id: SessionId) -> Result<Option<Session>, StoreError>;

    /// Lists sessions, newest `updated_at` first.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<Session>, StoreError>;

    /// How many sessions `filter` covers, how many of them are live, and their total
    /// cost. This default reads them page by page; a store may count in place.
    ///
    /// # Errors
    /// A store failure.
    async fn summarize(&self, filter: &SessionFilter) -> Result<SessionSummary, StoreError> {
        let mut summary = SessionSummary::default();
        each_session(self, filter, |session| summary.add(session)).await?;
        Ok(summary)
    }

    /// Cost, tokens, turns and sessions summed over what `filter` covers, one row per
    /// group of `grouping`, in [`order_usage`]'s order (no row when nothing is covered).
    /// This default reads the sessions page by page; a store may sum in place.
    ///
    /// # Errors
    /// A store failure.
    async fn usage(
        &self,
        filter: &SessionFilter,
        grouping: UsageGrouping,
    ) -> Result<Vec<UsageRow>, StoreError> {
        let mut groups = std::collections::BTreeMap::<String, UsageRow>::new();
        each_session(self, filter, |session| {
            let key = grouping.key(session);
            groups
                .entry(key.clone())
                .or_insert_with(|| UsageRow {
                    key,
                    ..UsageRow::default()
                })
                .add(session);
        })
        .await?;
        let mut rows: Vec<UsageRow> = groups.into_values().collect();
        order_usage(&mut rows, grouping);
        Ok(rows)
    }

    /// A session's runs, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    async fn runs(&self, session_id: SessionId) -> Result<Vec<Run>, StoreError>;

    /// Appends transcript entries (in `seq` order) in one transaction. A run's first
    /// `init` line also records its model and CLI version on the run
    /// ([`ReportedAgent::first_of_each_run`](crate::agent::ReportedAgent::first_of_each_run)).
    ///
    /// # Errors
    /// [`StoreError`]; on error none of `entries` was stored. [`StoreError::NotFound`]
    /// if a run does not exist.
    async fn append_events(&self, entries: &[TranscriptEntry]) -> Result<(), StoreError>;

    /// A run's entries with `seq > after` (all when `after` is `None`), at most `limit`.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    async fn events_after(
        &self,
        run_id: RunId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<TranscriptEntry>, StoreError>;

    /// Deletes a session with its runs and transcript; `Ok(false)` if it did not exist.
    ///
    /// # Errors
    /// [`StoreError`]; on error nothing was deleted.
    async fn delete_session(&self, id: SessionId) -> Result<bool, StoreError>;
}
