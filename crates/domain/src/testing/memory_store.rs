//! A working in-memory session store that journals every write.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{lock, Journal};
use crate::agent::{ReportedAgent, TranscriptEntry};
use crate::ids::{RunId, SessionId};
use crate::lifecycle::RunChange;
use crate::ports::{
    ChangeCursor, Changes, SessionQuery, SessionStore, SessionWrite, StoreError, TranscriptProgress,
};
use crate::session::{Run, Session};

#[derive(Debug, Default)]
struct StoreState {
    sessions: HashMap<SessionId, Session>,
    runs: Vec<Run>,
    events: Vec<TranscriptEntry>,
    /// While set, every write fails as a full disk does.
    full: bool,
    feed: ChangeLog,
}

/// The change feed, as the SQLite store keeps it: a counter bumped by every write, and
/// the counter value of each thing's last change.
#[derive(Debug, Default)]
struct ChangeLog {
    counter: u64,
    sessions: HashMap<SessionId, u64>,
    deleted: HashMap<SessionId, u64>,
    runs: HashMap<RunId, (SessionId, u64)>,
}

impl ChangeLog {
    fn bump(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }
}

/// A working in-memory [`SessionStore`] that journals every write.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<StoreState>>,
    journal: Journal,
}

impl MemoryStore {
    /// A store that records its writes in `journal`.
    pub fn with_journal(journal: Journal) -> Self {
        Self {
            state: Arc::default(),
            journal,
        }
    }

    /// Makes every later write fail with [`StoreError::Full`] (`true`), or succeed again.
    pub fn set_full(&self, full: bool) {
        lock(&self.state).full = full;
    }

    /// Every stored transcript entry, in append order.
    pub fn events(&self) -> Vec<TranscriptEntry> {
        lock(&self.state).events.clone()
    }

    /// The change feed's current position.
    pub fn change_cursor(&self) -> ChangeCursor {
        ChangeCursor::from_value(lock(&self.state).feed.counter)
    }

    /// Everything saved, deleted or appended after `cursor`, oldest change first.
    pub fn changes_since(&self, cursor: ChangeCursor) -> Changes {
        let state = lock(&self.state);
        let feed = &state.feed;
        let after = |seq: &u64| *seq > cursor.value();
        let mut sessions: Vec<(u64, Session)> = feed
            .sessions
            .iter()
            .filter(|(_, seq)| after(seq))
            .filter_map(|(id, seq)| Some((*seq, state.sessions.get(id)?.clone())))
            .collect();
        sessions.sort_by_key(|(seq, _)| *seq);
        let mut deleted: Vec<(u64, SessionId)> = feed
            .deleted
            .iter()
            .filter(|(_, seq)| after(seq))
            .map(|(id, seq)| (*seq, *id))
            .collect();
        deleted.sort_unstable();
        let mut transcripts: Vec<(u64, TranscriptProgress)> = feed
            .runs
            .iter()
            .filter(|(_, (_, seq))| after(seq))
            .filter_map(|(run_id, (session_id, seq))| {
                let last_seq = state
                    .events
                    .iter()
                    .filter(|entry| entry.run_id == *run_id)
                    .map(|entry| entry.seq)
                    .max()?;
                let progress = TranscriptProgress {
                    session_id: *session_id,
                    run_id: *run_id,
                    last_seq,
                };
                Some((*seq, progress))
            })
            .collect();
        transcripts.sort_by_key(|(seq, _)| *seq);
        Changes {
            cursor: ChangeCursor::from_value(feed.counter),
            sessions: sessions.into_iter().map(|(_, session)| session).collect(),
            deleted: deleted.into_iter().map(|(_, id)| id).collect(),
            transcripts: transcripts.into_iter().map(|(_, run)| run).collect(),
        }
    }
}

fn describe_write(write: &SessionWrite) -> String {
    let session = &write.session;
    let mut line = format!(
        "store   {} status={} resume_count={} active_run={}",
        session.id.short(),
        session.status,
        session.resume_count,
        session
            .active_run_id
            .map_or_else(|| "-".into(), |id| id.short()),
    );
    if session.agent_established {
        line.push_str(" established");
    }
    if let Some(error) = &session.last_error {
        let _ = write!(line, " last_error={error:?}");
    }
    let _ = match &write.run_change {
        None => Ok(()),
        Some(RunChange::Created(run)) => {
            write!(line, " + new {} run {}", run.kind.as_str(), run.id.short())
        }
        Some(RunChange::Spawned { run_id, pid }) => {
            write!(line, " + run {} pid={pid}", run_id.short())
        }
        Some(RunChange::Ended {
            run_id,
            outcome,
            exit_code,
            ..
        }) => {
            let exit = exit_code.map_or_else(|| "-".into(), |code| code.to_string());
            write!(
                line,
                " + run {} ended {} exit={exit}",
                run_id.short(),
                outcome.label()
            )
        }
    };
    line
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn save(&self, write: &SessionWrite) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        refuse_when_full(&state)?;
        self.journal.record(describe_write(write));
        state
            .sessions
            .insert(write.session.id, write.session.clone());
        let seq = state.feed.bump();
        state.feed.sessions.insert(write.session.id, seq);
        state.feed.deleted.remove(&write.session.id);
        match &write.run_change {
            None => {}
            Some(RunChange::Created(run)) => state.runs.push(run.clone()),
            Some(RunChange::Spawned { run_id, pid }) => {
                let run = find_run(&mut state.runs, *run_id)?;
                run.pid = Some(*pid);
            }
            Some(RunChange::Ended {
                run_id,
                ended_at,
                outcome,
                exit_code,
            }) => {
                let run = find_run(&mut state.runs, *run_id)?;
                run.ended_at = Some(*ended_at);
                run.outcome = Some(outcome.clone());
                run.exit_code = *exit_code;
            }
        }
        Ok(())
    }

    async fn session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        Ok(lock(&self.state).sessions.get(&id).cloned())
    }

    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<Session>, StoreError> {
        let state = lock(&self.state);
        let mut sessions: Vec<Session> = state
            .sessions
            .values()
            .filter(|session| query.filter.matches(session))
            .filter(|session| {
                query.after.is_none_or(|cursor| {
                    (session.updated_at, session.id) < (cursor.updated_at, cursor.id)
                })
            })
            .cloned()
            .collect();
        sessions.sort_by_key(|session| std::cmp::Reverse((session.updated_at, session.id)));
        sessions.truncate(query.limit.unwrap_or(usize::MAX));
        Ok(sessions)
    }

    async fn runs(&self, session_id: SessionId) -> Result<Vec<Run>, StoreError> {
        let state = lock(&self.state);
        Ok(state
            .runs
            .iter()
            .filter(|run| run.session_id == session_id)
            .cloned()
            .collect())
    }

    async fn append_events(&self, entries: &[TranscriptEntry]) -> Result<(), StoreError> {
        refuse_when_full(&lock(&self.state))?;
        if let Some(first) = entries.first() {
            self.journal.record(format!(
                "store   {} transcript lines of run {} from seq {}",
                entries.len(),
                first.run_id.short(),
                first.seq
            ));
        }
        let mut state = lock(&self.state);
        for reported in ReportedAgent::first_of_each_run(entries) {
            let run = find_run(&mut state.runs, reported.run_id)?;
            if run.model.is_none() {
                run.model = Some(reported.model.to_owned());
                run.cli_version = Some(reported.cli_version.to_owned());
            }
        }
        state.events.extend_from_slice(entries);
        let mut grown: Vec<RunId> = entries.iter().map(|entry| entry.run_id).collect();
        grown.dedup();
        for run_id in grown {
            let session_id = state
                .runs
                .iter()
                .find(|run| run.id == run_id)
                .map(|run| run.session_id);
            if let Some(session_id) = session_id {
                let seq = state.feed.bump();
                state.feed.runs.insert(run_id, (session_id, seq));
            }
        }
        Ok(())
    }

    async fn events_after(
        &self,
        run_id: RunId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<TranscriptEntry>, StoreError> {
        let state = lock(&self.state);
        Ok(state
            .events
            .iter()
            .filter(|entry| entry.run_id == run_id && after.is_none_or(|after| entry.seq > after))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn delete_session(&self, id: SessionId) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        let existed = state.sessions.remove(&id).is_some();
        let run_ids: Vec<RunId> = state
            .runs
            .iter()
            .filter(|run| run.session_id == id)
            .map(|run| run.id)
            .collect();
        state.runs.retain(|run| run.session_id != id);
        state
            .events
            .retain(|entry| !run_ids.contains(&entry.run_id));
        if existed {
            let seq = state.feed.bump();
            state.feed.deleted.insert(id, seq);
            state.feed.sessions.remove(&id);
            state
                .feed
                .runs
                .retain(|_, (session_id, _)| *session_id != id);
        }
        Ok(existed)
    }
}

fn refuse_when_full(state: &StoreState) -> Result<(), StoreError> {
    if state.full {
        return Err(StoreError::Full {
            message: "database or disk is full".into(),
        });
    }
    Ok(())
}

fn find_run(runs: &mut [Run], run_id: RunId) -> Result<&mut Run, StoreError> {
    runs.iter_mut()
        .find(|run| run.id == run_id)
        .ok_or_else(|| StoreError::NotFound {
            what: format!("run {run_id}"),
        })
}
