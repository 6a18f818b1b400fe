//! A working in-memory session store that journals every write.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{lock, Journal};
use crate::agent::TranscriptEntry;
use crate::ids::{RunId, SessionId};
use crate::lifecycle::RunChange;
use crate::ports::{SessionQuery, SessionStore, SessionWrite, StoreError};
use crate::session::{Run, Session};

#[derive(Debug, Default)]
struct StoreState {
    sessions: HashMap<SessionId, Session>,
    runs: Vec<Run>,
    events: Vec<TranscriptEntry>,
    /// While set, every write fails as a full disk does.
    full: bool,
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
            .filter(|session| query.status.is_none_or(|status| session.status == status))
            .cloned()
            .collect();
        sessions.sort_by_key(|session| std::cmp::Reverse(session.updated_at));
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
        lock(&self.state).events.extend_from_slice(entries);
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
