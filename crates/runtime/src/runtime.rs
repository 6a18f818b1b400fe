//! The use cases, over ports: testable with fakes, wired to real adapters by `wiring`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use lulu_domain::ports::{
    Clock, ControlAction, ControlAnswer, ControlStore, SessionQuery, SessionStore, SessionUpdate,
};
use lulu_domain::{
    Prompt, Run, RunId, Session, SessionId, SessionSpec, SessionStatus, SessionSupervisor,
    SupervisorError, TranscriptEntry,
};

use crate::config::RuntimeConfig;
use crate::database_file::{DatabaseFileCheck, DatabaseFileWatch};
use crate::error::RuntimeError;
use crate::mailbox;
use crate::owner::OwnerIdentity;
use crate::processes::ProcessTable;
use crate::recovery::Recovery;

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
    config: RuntimeConfig,
    stop: CancellationToken,
    background: std::sync::Mutex<Vec<JoinHandle<()>>>,
    database_file: DatabaseFileWatch,
}

/// The shortest id prefix accepted.
const MIN_PREFIX: usize = 4;

impl Runtime {
    /// A runtime over `parts`. Call [`serve`](Self::serve) before starting or resuming sessions.
    pub fn new(parts: RuntimeParts, config: RuntimeConfig) -> Self {
        Self {
            parts,
            recovered: std::sync::Mutex::default(),
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
        let settled = Recovery {
            supervisor: &self.parts.supervisor,
            control: self.parts.control.as_ref(),
            processes: self.parts.processes.as_ref(),
            host: &self.parts.identity.host,
        }
        .run(self.parts.clock.now())
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

    /// Makes this process an owner: takes a lease and keeps it renewed, serves control
    /// requests for its sessions, and keeps recovering orphans (so a dead owner's queued
    /// sessions never hold up the run slots).
    ///
    /// # Errors
    /// [`RuntimeError::Store`] when the lease cannot be stored.
    pub async fn serve(self: &Arc<Self>) -> Result<(), RuntimeError> {
        // Tools the agent orphans come back to this process, to be killed and reaped.
        if let Err(error) = lulu_adapters_cli::become_child_subreaper() {
            warn!(%error, "could not become a child subreaper; orphaned tools go to init");
        }
        self.renew_lease().await?;
        let mut background = self
            .background
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mailbox = mailbox::serve(
            self.parts.supervisor.clone(),
            Arc::clone(&self.parts.control),
            Arc::clone(&self.parts.clock),
            self.config.poll_interval,
            self.stop.clone(),
        );
        background.push(tokio::spawn(mailbox));
        let housekeeping = Arc::clone(self).housekeeping();
        background.push(tokio::spawn(housekeeping));
        if self.database_file.is_set() {
            background.push(tokio::spawn(Arc::clone(self).watch_database()));
        }
        Ok(())
    }

    /// Checks the database file until shutdown; once it is lost, stops every session.
    async fn watch_database(self: Arc<Self>) {
        let clock = Arc::clone(&self.parts.clock);
        let Some(error) = self
            .database_file
            .wait_until_lost(clock.as_ref(), &self.stop)
            .await
        else {
            return;
        };
        let live = self.parts.supervisor.live_sessions().len();
        tracing::error!(%error, live, "stopping this process's sessions");
        self.stop_live_sessions().await;
    }

    /// Interrupts every live session this process owns, all at once, and again for those
    /// that could not be interrupted yet (still starting), until none is left or twice
    /// the interrupt deadline has passed.
    async fn stop_live_sessions(&self) {
        let clock = Arc::clone(&self.parts.clock);
        let began = clock.monotonic();
        let patience = self.config.interrupt.deadline() * 2;
        loop {
            let live = self.parts.supervisor.live_sessions();
            if live.is_empty() {
                return;
            }
            if clock.monotonic() - began > patience {
                warn!(
                    left = live.len(),
                    "sessions still live after the stop deadline"
                );
                return;
            }
            let mut interrupts = tokio::task::JoinSet::new();
            for id in live {
                let supervisor = self.parts.supervisor.clone();
                interrupts.spawn(async move { (id, supervisor.interrupt(id).await) });
            }
            while let Some(done) = interrupts.join_next().await {
                if let Ok((id, Err(error))) = done {
                    info!(session_id = %id, %error, "a session could not be stopped yet");
                }
            }
            clock
                .sleep_until(clock.monotonic() + self.config.poll_interval)
                .await;
        }
    }

    async fn renew_lease(&self) -> Result<(), RuntimeError> {
        let now = self.parts.clock.now();
        let ttl = chrono::Duration::from_std(self.config.lease_ttl)
            .unwrap_or(chrono::Duration::seconds(5));
        let lease = self.parts.identity.lease(now, now + ttl);
        self.parts.control.put_lease(&lease).await?;
        Ok(())
    }

    /// Renews the lease a few times per TTL and recovers orphans, until shutdown.
    async fn housekeeping(self: Arc<Self>) {
        let period = self.config.lease_ttl / 3;
        let clock = Arc::clone(&self.parts.clock);
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return,
                () = clock.sleep_until(clock.monotonic() + period) => {}
            }
            if let Err(error) = self.renew_lease().await {
                warn!(%error, "could not renew the owner lease");
            }
            if let Err(error) = self.recover().await {
                warn!(%error, "recovery pass failed");
            }
        }
    }

    /// Stops serving: interrupts the sessions this process still owns, then drops the lease.
    pub async fn shutdown(&self) {
        for id in self.parts.supervisor.live_sessions() {
            if let Err(error) = self.parts.supervisor.interrupt(id).await {
                warn!(session_id = %id, %error, "could not interrupt a session at shutdown");
            }
        }
        self.stop.cancel();
        let background: Vec<JoinHandle<()>> = std::mem::take(
            &mut *self
                .background
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for task in background {
            let _ = task.await;
        }
        if let Err(error) = self.parts.control.drop_lease().await {
            warn!(%error, "could not drop the owner lease");
        }
    }

    /// Updates from this process's supervisor.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionUpdate> {
        self.parts.supervisor.subscribe()
    }

    /// Starts a session owned by this process (it must [`serve`](Self::serve)).
    ///
    /// # Errors
    /// [`RuntimeError::Supervisor`] when it could not be stored.
    pub async fn start(&self, spec: SessionSpec) -> Result<Session, RuntimeError> {
        if let Some(lost) = self.database_lost() {
            return Err(lost);
        }
        Ok(self.parts.supervisor.start(spec).await?)
    }

    /// Waits until a session this process owns has settled.
    ///
    /// # Errors
    /// [`RuntimeError::Supervisor`].
    pub async fn wait_until_settled(&self, id: SessionId) -> Result<Session, RuntimeError> {
        Ok(self.parts.supervisor.wait_until_settled(id).await?)
    }

    /// Interrupts a session, wherever its owner is, and waits for the outcome.
    ///
    /// # Errors
    /// Not found, not running, another operation in flight, the interrupt timed out, or
    /// the owner did not answer.
    pub async fn interrupt(&self, id: SessionId) -> Result<Session, RuntimeError> {
        if self.parts.supervisor.live_sessions().contains(&id) {
            return Ok(self.parts.supervisor.interrupt(id).await?);
        }
        self.recover().await?;
        let session = self.session(id).await?;
        if !session.status.is_live() {
            return Err(SupervisorError::NotRunning {
                id,
                status: session.status,
            }
            .into());
        }
        self.ask_owner(id, ControlAction::Interrupt).await
    }

    /// Continues a settled session with a follow-up prompt, owned by this process (it must
    /// [`serve`](Self::serve)). A live session's owner is asked instead, and refuses.
    ///
    /// # Errors
    /// Not found, still live, another operation in flight, or a store failure.
    pub async fn resume(&self, id: SessionId, prompt: Prompt) -> Result<Session, RuntimeError> {
        if let Some(lost) = self.database_lost() {
            return Err(lost);
        }
        self.recover().await?;
        let session = self.session(id).await?;
        if session.status.is_live() {
            return self.ask_owner(id, ControlAction::Resume { prompt }).await;
        }
        if !self.parts.control.claim_session(id).await? {
            return Err(SupervisorError::OperationInProgress(id).into());
        }
        match self.parts.supervisor.resume(id, prompt).await {
            Ok(session) => Ok(session),
            Err(error) => {
                if let Err(unclaim) = self.parts.control.unclaim_session(id).await {
                    warn!(session_id = %id, %unclaim, "could not release the claim on a session");
                }
                Err(error.into())
            }
        }
    }

    async fn ask_owner(
        &self,
        id: SessionId,
        action: ControlAction,
    ) -> Result<Session, RuntimeError> {
        let control = self.parts.control.as_ref();
        let clock = self.parts.clock.as_ref();
        let interrupting = action == ControlAction::Interrupt;
        let request = control.enqueue_control(id, &action, clock.now()).await?;
        info!(session_id = %id, request_id = %request, "asked the session's owner");
        let waited = self.config.interrupt.deadline() + Duration::from_secs(5);
        let began = clock.monotonic();
        let mut next_look = began;
        let mut settled_since = None;
        loop {
            match control.control_answer(request).await? {
                Some(ControlAnswer::Succeeded { .. }) => return self.session(id).await,
                Some(ControlAnswer::Refused { code, message }) => {
                    return Err(RuntimeError::Refused { code, message })
                }
                None => {}
            }
            let now = clock.monotonic();
            if now - began >= waited {
                return Err(RuntimeError::NoAnswer { id, waited });
            }
            if now >= next_look {
                // An owner that dies before answering must not leave us waiting: recover it,
                // and once the session has settled without an answer, its status answers.
                next_look = now + Duration::from_secs(1);
                self.recover().await?;
                let session = self.session(id).await?;
                if !session.status.is_live() {
                    let since = *settled_since.get_or_insert(now);
                    if now - since >= Duration::from_secs(1) {
                        if interrupting && session.status == SessionStatus::Interrupted {
                            return Ok(session);
                        }
                        return Err(RuntimeError::NoAnswer {
                            id,
                            waited: now - began,
                        });
                    }
                }
            }
            clock.sleep_until(now + self.config.poll_interval).await;
        }
    }

    /// Deletes a settled session; with `force`, interrupts a live one first.
    ///
    /// # Errors
    /// Still live (without `force`), the interrupt failed, not found, or a store failure.
    pub async fn delete(&self, id: SessionId, force: bool) -> Result<(), RuntimeError> {
        self.recover().await?;
        let session = self.session(id).await?;
        if session.status.is_live() && force {
            self.interrupt(id).await?;
        }
        Ok(self.parts.supervisor.delete(id).await?)
    }

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

    /// Waits `poll` on the runtime's clock (for followers polling the database).
    pub async fn pause(&self) {
        let clock = &self.parts.clock;
        clock
            .sleep_until(clock.monotonic() + self.config.poll_interval * 2)
            .await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use lulu_domain::ports::{LocalSlots, MockControlStore};
    use lulu_domain::testing::{
        sample_session, FakeLauncher, Journal, MemoryStore, SequentialIds, StopResponse, TestClock,
    };
    use lulu_domain::{OwnerId, Ports, SessionSupervisor, SupervisorConfig};

    use super::*;
    use crate::owner::OwnerIdentity;
    use crate::processes::tests::FakeProcesses;

    fn runtime(control: MockControlStore) -> Runtime {
        let store = Arc::new(MemoryStore::default());
        let (launcher, _) = FakeLauncher::new(StopResponse::ExitOnGraceful, Journal::default());
        let clock = Arc::new(TestClock::new());
        let ports = Ports {
            store: store.clone(),
            launcher: Arc::new(launcher),
            clock: clock.clone(),
            ids: Arc::new(SequentialIds::default()),
            updates: Arc::new(lulu_domain::ports::BroadcastUpdates::default()),
            slots: Arc::new(LocalSlots::new(8)),
        };
        let parts = RuntimeParts {
            supervisor: SessionSupervisor::new(ports, SupervisorConfig::default()),
            store,
            control: Arc::new(control),
            processes: Arc::new(FakeProcesses::default()),
            clock,
            identity: OwnerIdentity {
                owner: OwnerId::from_uuid(uuid::Uuid::nil()),
                pid: 1,
                start_time: 1,
                host: "here".into(),
            },
        };
        Runtime::new(
            parts,
            RuntimeConfig::new("/tmp/lulu.db".into(), "claude".into()),
        )
    }

    #[tokio::test]
    async fn an_ambiguous_prefix_lists_the_candidates_and_a_full_id_needs_no_lookup() {
        let mut control = MockControlStore::new();
        control
            .expect_sessions_with_prefix()
            .withf(|prefix, _| prefix == "a000")
            .returning(|_, _| Ok(vec![sample_session(1), sample_session(2)]));
        let runtime = runtime(control);

        let error = runtime.resolve("A000").await.unwrap_err();

        assert_eq!(
            error.to_string(),
            "`A000` matches several sessions: a0000001 (Fix the failing test in parser.rs), \
             a0000002 (Fix the failing test in parser.rs); give more characters"
        );
        assert_eq!(error.code(), "ambiguous_id");
        let full = sample_session(3).id;
        assert_eq!(runtime.resolve(&full.to_string()).await.unwrap(), full);
    }
}
