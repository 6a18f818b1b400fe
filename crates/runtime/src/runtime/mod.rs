//! The use cases, over ports: testable with fakes, wired to real adapters by `wiring`.

use std::sync::Arc;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use lulu_domain::ports::{Clock, ControlStore, SessionStore, SessionUpdate};
use lulu_domain::{Run, Session, SessionId, SessionSupervisor};

use crate::config::RuntimeConfig;
use crate::database_file::{DatabaseFileCheck, DatabaseFileWatch};
use crate::error::RuntimeError;
use crate::owner::OwnerIdentity;
use crate::processes::ProcessTable;
use crate::recovery::recover_orphans;

mod approvals;
mod ask_owner;
mod follow_ups;
mod interrupt;

pub use interrupt::InterruptOutcome;
mod lifecycle;
mod queries;
mod serve;
#[cfg(test)]
pub(crate) mod tests;

/// The adapters a runtime is made of.
pub struct RuntimeParts {
    /// The supervisor (already wired to the store, launcher, clock and slots below).
    pub supervisor: SessionSupervisor,
    /// Sessions, runs, transcripts.
    pub store: Arc<dyn SessionStore>,
    /// Leases, ownership, mailbox.
    pub control: Arc<dyn ControlStore>,
    /// The process table.
    pub processes: Arc<dyn ProcessTable>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Who this process is.
    pub identity: OwnerIdentity,
}

/// A session with its run history.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionDetails {
    /// The session.
    pub session: Session,
    /// Its runs, oldest first.
    pub runs: Vec<Run>,
}

/// Lulu's use cases for one process.
pub struct Runtime {
    parts: RuntimeParts,
    recovered: std::sync::Mutex<Vec<Session>>,
    last_follow_recovery: std::sync::Mutex<Option<tokio::time::Instant>>,
    config: RuntimeConfig,
    stop: CancellationToken,
    background: std::sync::Mutex<Vec<JoinHandle<()>>>,
    database_file: DatabaseFileWatch,
}

impl Runtime {
    /// A runtime over `parts`. Call [`serve`](Self::serve) before starting or resuming sessions.
    pub fn new(parts: RuntimeParts, config: RuntimeConfig) -> Self {
        Self {
            parts,
            recovered: std::sync::Mutex::default(),
            last_follow_recovery: std::sync::Mutex::default(),
            config,
            stop: CancellationToken::new(),
            background: std::sync::Mutex::default(),
            database_file: DatabaseFileWatch::default(),
        }
    }

    /// Has [`serve`](Self::serve) watch the database file with `check`: once the file is
    /// deleted or replaced, this process logs why, stops its sessions and starts no more.
    pub fn watch_database_file(&self, check: DatabaseFileCheck) {
        self.database_file.set_check(check);
    }

    /// Checks the database file now: an error if it was deleted or replaced (for a
    /// process that reads the database without serving, such as a daemon's follower).
    pub fn check_database_file(&self) -> Option<RuntimeError> {
        self.database_file
            .check_now()
            .cloned()
            .map(RuntimeError::Store)
    }

    /// Why this process stopped using its database, if its file was deleted or replaced.
    pub fn database_lost(&self) -> Option<RuntimeError> {
        self.database_file.lost().cloned().map(RuntimeError::Store)
    }

    /// This process's owner identity.
    pub fn identity(&self) -> &OwnerIdentity {
        &self.parts.identity
    }

    /// The configuration in force.
    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// Settles sessions whose owner died, killing what they left running.
    ///
    /// # Errors
    /// [`RuntimeError::Store`] when the database cannot be read.
    pub async fn recover(&self) -> Result<Vec<Session>, RuntimeError> {
        let settled = recover_orphans(
            &self.parts.supervisor,
            self.parts.control.as_ref(),
            self.parts.processes.as_ref(),
            &self.parts.identity.host,
        )
        .await?;
        self.recovered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(settled.iter().cloned());
        Ok(settled)
    }

    /// Sessions this process has recovered so far (their owner had died), for telling the user.
    pub fn take_recovered(&self) -> Vec<Session> {
        std::mem::take(
            &mut *self
                .recovered
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// The sessions this process owns a queued or live run of.
    pub fn live_sessions(&self) -> Vec<SessionId> {
        self.parts.supervisor.live_sessions()
    }

    /// Updates from this process's supervisor.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionUpdate> {
        self.parts.supervisor.subscribe()
    }
}
