//! Reads: sessions, run histories, transcripts, id prefixes, and a follower's pause.

use std::collections::HashSet;
use std::time::Duration;

use lulu_domain::ports::{
    ChangeCursor, Changes, SessionFilter, SessionQuery, SessionSummary, UsageGrouping, UsageRow,
};
use lulu_domain::{OwnerId, RunId, Session, SessionId, SupervisorError, TranscriptEntry};

use super::{Runtime, SessionDetails};
use crate::error::RuntimeError;

/// The shortest id prefix accepted.
const MIN_PREFIX: usize = 4;
/// How often a follower's pauses look for sessions whose owner died.
const FOLLOW_RECOVERY_PERIOD: Duration = Duration::from_secs(1);

impl Runtime {
    /// One session.
    ///
    /// # Errors
    /// [`SupervisorError::NotFound`] or a store failure.
    pub async fn session(&self, id: SessionId) -> Result<Session, RuntimeError> {
        self.parts
            .store
            .session(id)
            .await?
            .ok_or_else(|| SupervisorError::NotFound(id).into())
    }

    /// A session with its run history.
    ///
    /// # Errors
    /// Not found, or a store failure.
    pub async fn details(&self, id: SessionId) -> Result<SessionDetails, RuntimeError> {
        let session = self.session(id).await?;
        let runs = self.parts.store.runs(id).await?;
        Ok(SessionDetails { session, runs })
    }

    /// Sessions, newest first.
    ///
    /// # Errors
    /// A store failure.
    pub async fn list(&self, query: &SessionQuery) -> Result<Vec<Session>, RuntimeError> {
        Ok(self.parts.store.list_sessions(query).await?)
    }

    /// How many sessions `filter` covers, how many are live, and their total cost.
    ///
    /// # Errors
    /// A store failure.
    pub async fn summarize(&self, filter: &SessionFilter) -> Result<SessionSummary, RuntimeError> {
        Ok(self.parts.store.summarize(filter).await?)
    }

    /// Cost, tokens, turns and sessions summed over what `filter` covers, one row per
    /// group (none when nothing is covered).
    ///
    /// # Errors
    /// A store failure.
    pub async fn usage(
        &self,
        filter: &SessionFilter,
        grouping: UsageGrouping,
    ) -> Result<Vec<UsageRow>, RuntimeError> {
        Ok(self.parts.store.usage(filter, grouping).await?)
    }

    /// The live sessions whose owner runs on another host. This host can neither check
    /// that owner's process nor recover or kill anything of its sessions, so they stay as
    /// they are: front ends show them as "owner unreachable".
    ///
    /// # Errors
    /// A store failure.
    pub async fn sessions_owned_elsewhere(&self) -> Result<HashSet<SessionId>, RuntimeError> {
        let control = &self.parts.control;
        let host = &self.parts.identity.host;
        let live = control.live_sessions().await?;
        let elsewhere: HashSet<OwnerId> = control
            .leases()
            .await?
            .into_iter()
            .filter(|lease| lease.host != *host)
            .map(|lease| lease.owner)
            .collect();
        Ok(live
            .into_iter()
            .filter(|owned| owned.owner.is_some_and(|owner| elsewhere.contains(&owner)))
            .map(|owned| owned.session.id)
            .collect())
    }

    /// The change feed's current position: [`changes_since`](Self::changes_since) it
    /// returns what any process changes from now on.
    ///
    /// # Errors
    /// A store failure.
    pub async fn change_cursor(&self) -> Result<ChangeCursor, RuntimeError> {
        Ok(self.parts.control.change_cursor().await?)
    }

    /// Every session any process sharing the database saved, deleted or whose
    /// transcript it grew after `cursor`, with the cursor to pass next time.
    ///
    /// # Errors
    /// A store failure.
    pub async fn changes_since(&self, cursor: ChangeCursor) -> Result<Changes, RuntimeError> {
        Ok(self.parts.control.changes_since(cursor).await?)
    }

    /// A page of a run's transcript after `after`.
    ///
    /// # Errors
    /// A store failure.
    pub async fn transcript(
        &self,
        run_id: RunId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<TranscriptEntry>, RuntimeError> {
        Ok(self.parts.store.events_after(run_id, after, limit).await?)
    }

    /// The highest `seq` stored for `run`, `None` when it has no entry: a binary search
    /// of indexed one-entry reads (about 2·log2(n) of them), so a front end can page a
    /// transcript of any length from its end without reading it whole.
    ///
    /// # Errors
    /// A store failure.
    pub async fn last_seq(&self, run_id: RunId) -> Result<Option<u64>, RuntimeError> {
        let store = &self.parts.store;
        let after = |seq: u64| async move {
            Ok::<_, RuntimeError>(!store.events_after(run_id, Some(seq), 1).await?.is_empty())
        };
        if store.events_after(run_id, None, 1).await?.is_empty() {
            return Ok(None);
        }
        // Some entry has a seq above `low`'s predecessor; find a bound none is above.
        let (mut low, mut high) = (0_u64, 1_u64);
        while after(high).await? {
            low = high;
            high = high.saturating_mul(2);
        }
        // Invariant: an entry with seq >= low exists (or low == 0); none above high.
        while low < high {
            let middle = low + (high - low).div_ceil(2);
            if after(middle - 1).await? {
                low = middle;
            } else {
                high = middle - 1;
            }
        }
        Ok(Some(low))
    }

    /// The session a full id or a unique prefix (at least 4 characters) names.
    ///
    /// # Errors
    /// Too short, unknown, or ambiguous (the error lists the candidates).
    pub async fn resolve(&self, text: &str) -> Result<SessionId, RuntimeError> {
        let text = text.trim();
        if let Ok(id) = text.parse::<SessionId>() {
            return Ok(id);
        }
        if text.chars().count() < MIN_PREFIX {
            return Err(RuntimeError::IdTooShort(text.to_owned()));
        }
        let prefix = text.to_ascii_lowercase();
        let mut matches = self.parts.control.sessions_with_prefix(&prefix, 10).await?;
        match matches.len() {
            0 => Err(RuntimeError::UnknownId(text.to_owned())),
            1 => Ok(matches.remove(0).id),
            _ => Err(RuntimeError::AmbiguousId {
                prefix: text.to_owned(),
                candidates: matches
                    .iter()
                    .map(|session| format!("{} ({})", session.id.short(), session.title.as_str()))
                    .collect(),
            }),
        }
    }

    /// Sessions whose id starts with `prefix` (of any length, also empty), newest first,
    /// at most `limit`: what a shell offers to complete an id with.
    ///
    /// # Errors
    /// A store failure.
    pub async fn sessions_starting_with(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<Session>, RuntimeError> {
        let prefix = prefix.trim().to_ascii_lowercase();
        Ok(self
            .parts
            .control
            .sessions_with_prefix(&prefix, limit)
            .await?)
    }

    /// Waits before a follower's next look at the database; about once a second it also
    /// settles sessions whose owner died (the same check [`recover`](Self::recover)
    /// makes), so whoever follows a session of a killed owner sees it end.
    ///
    /// # Errors
    /// [`RuntimeError::Store`] when the database cannot be read.
    pub async fn pause(&self) -> Result<(), RuntimeError> {
        let clock = &self.parts.clock;
        clock
            .sleep_until(clock.monotonic() + self.config.poll_interval * 2)
            .await;
        let now = clock.monotonic();
        let due = {
            let mut last = self
                .last_follow_recovery
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let due = last.is_none_or(|last| now - last >= FOLLOW_RECOVERY_PERIOD);
            if due {
                *last = Some(now);
            }
            due
        };
        if due {
            self.recover().await?;
        }
        Ok(())
    }
}
