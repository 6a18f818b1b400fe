//! The use cases, over ports: testable with fakes, wired to real adapters by `wiring`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use lulu_domain::ports::{
    Clock, ControlAction, ControlAnswer, ControlStore, SessionQuery, SessionStore, SessionUpdate,
};
use lulu_domain::{
    OwnerId, Prompt, Run, RunId, Session, SessionId, SessionSpec, SessionStatus, SessionSupervisor,
    SupervisorError, TranscriptEntry,
};

use crate::config::RuntimeConfig;
use crate::database_file::{DatabaseFileCheck, DatabaseFileWatch};
use crate::error::RuntimeError;
use crate::mailbox;
use crate::owner::{FrozenOwner, OwnerIdentity};
use crate::processes::ProcessTable;
use crate::recovery::recover_orphans;

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

/// The shortest id prefix accepted.
const MIN_PREFIX: usize = 4;
/// How often an owner reaps the children it adopted.
const REAP_PERIOD: Duration = Duration::from_millis(250);
/// How often a follower's pauses look for sessions whose owner died.
const FOLLOW_RECOVERY_PERIOD: Duration = Duration::from_secs(1);
/// How long an owner may stay stopped before a requester stops waiting for its answer.
const STOPPED_OWNER_GRACE: Duration = Duration::from_secs(1);

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

    /// Makes this process an owner: takes a lease and keeps it renewed, serves control
    /// requests for its sessions, and keeps recovering orphans (so a dead owner's queued
    /// sessions never hold up the run slots). It also reaps every zombie child that is not
    /// an agent the launcher spawned, so a serving process must start no other children
    /// it waits for itself.
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
        background.push(tokio::spawn(Arc::clone(self).keep_lease()));
        background.push(tokio::spawn(Arc::clone(self).keep_recovering()));
        background.push(tokio::spawn(Arc::clone(self).keep_reaping()));
        if self.database_file.is_set() {
            background.push(tokio::spawn(Arc::clone(self).watch_database()));
        }
        Ok(())
    }

    /// Reaps the children this process adopts as a subreaper (orphaned tools, recorded
    /// or not; never an agent the launcher waits for), until shutdown, so no zombie
    /// stays while it lives.
    async fn keep_reaping(self: Arc<Self>) {
        self.every(REAP_PERIOD, || async {
            let _ = tokio::task::spawn_blocking(lulu_adapters_cli::reap_adopted_children).await;
        })
        .await;
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

    /// Renews the lease a few times per TTL, until shutdown. A task of its own, so no
    /// recovery pass (or anything else this owner does) delays it. The lease is stored
    /// whole each time: a row dropped meanwhile is restored.
    async fn keep_lease(self: Arc<Self>) {
        self.every(self.config.lease_ttl / 3, || async {
            if let Err(error) = self.renew_lease().await {
                warn!(%error, "could not renew the owner lease");
            }
        })
        .await;
    }

    /// Recovers orphans a few times per lease TTL, until shutdown.
    async fn keep_recovering(self: Arc<Self>) {
        self.every(self.config.lease_ttl / 3, || async {
            if let Err(error) = self.recover().await {
                warn!(%error, "recovery pass failed");
            }
        })
        .await;
    }

    /// Runs `pass` every `period` until shutdown.
    async fn every<F, Fut>(&self, period: Duration, pass: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let clock = Arc::clone(&self.parts.clock);
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return,
                () = clock.sleep_until(clock.monotonic() + period) => {}
            }
            pass().await;
        }
    }

    /// Stops serving: interrupts the sessions this process still owns (all at once), then
    /// drops the lease.
    /// Returns the sessions it could not interrupt, with why.
    pub async fn shutdown(&self) -> Vec<(SessionId, RuntimeError)> {
        let mut failed = Vec::new();
        // All at once: a daemon may own dozens, each with up to the interrupt deadline.
        let mut interrupts = tokio::task::JoinSet::new();
        for id in self.parts.supervisor.live_sessions() {
            let supervisor = self.parts.supervisor.clone();
            interrupts.spawn(async move { (id, supervisor.interrupt(id).await) });
        }
        while let Some(done) = interrupts.join_next().await {
            let Ok((id, interrupted)) = done else {
                continue;
            };
            match interrupted {
                Ok(_) => {}
                // Its end was being stored as we looked: it settled on its own, nothing
                // is left to stop (the supervisor forgets a session only after that).
                Err(SupervisorError::NotRunning { status, .. }) if !status.is_live() => {
                    debug!(session_id = %id, %status, "a session settled on its own at shutdown");
                }
                Err(error) => {
                    warn!(session_id = %id, %error, "could not interrupt a session at shutdown");
                    failed.push((id, error.into()));
                }
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
        failed
    }

    /// The sessions this process owns a queued or live run of.
    pub fn live_sessions(&self) -> Vec<SessionId> {
        self.parts.supervisor.live_sessions()
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
        let request = control.enqueue_control(id, &action, clock.now()).await?;
        info!(session_id = %id, request_id = %request, "asked the session's owner");
        let waited = self.config.interrupt.deadline() + Duration::from_secs(5);
        let began = clock.monotonic();
        let mut next_look = began;
        let mut settled_since = None;
        let mut stopped_since = None;
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
                // Never carried out later by surprise: withdrawn, unless an owner has it.
                if let Err(error) = control.withdraw_control(request, clock.now()).await {
                    warn!(session_id = %id, %error, "could not withdraw an unanswered request");
                }
                return Err(RuntimeError::NoAnswer { id, waited });
            }
            if now >= next_look {
                // An owner that dies before answering must not leave us waiting: recover it,
                // and once the session has settled without an answer, its status answers.
                next_look = now + Duration::from_secs(1);
                self.recover().await?;
                // A stopped owner answers nothing until it is continued: say so now rather
                // than past the deadline (after a grace for a stop that is only brief).
                match self.stopped_owner(id).await? {
                    Some(owner) => {
                        let since = *stopped_since.get_or_insert(now);
                        if now - since >= STOPPED_OWNER_GRACE {
                            return Err(RuntimeError::OwnerStopped {
                                id,
                                pid: owner.pid,
                                state: owner.describe(),
                            });
                        }
                    }
                    None => stopped_since = None,
                }
                let session = self.session(id).await?;
                if !session.status.is_live() {
                    let since = *settled_since.get_or_insert(now);
                    // Settled without our request: unless an owner claimed it (and so will
                    // answer it), it was never carried out, and never will be.
                    if now - since >= Duration::from_secs(1)
                        && control.withdraw_control(request, clock.now()).await?
                    {
                        return Err(not_carried_out(id, &action, session.status));
                    }
                }
            }
            clock.sleep_until(now + self.config.poll_interval).await;
        }
    }

    /// The owner of live session `id` if it is a stopped process on this host.
    async fn stopped_owner(&self, id: SessionId) -> Result<Option<FrozenOwner>, RuntimeError> {
        let control = &self.parts.control;
        let Some(owner) = control
            .live_sessions()
            .await?
            .into_iter()
            .find(|owned| owned.session.id == id)
            .and_then(|owned| owned.owner)
        else {
            return Ok(None);
        };
        let leases = control.leases().await?;
        Ok(leases
            .iter()
            .find(|lease| lease.owner == owner)
            .and_then(|lease| {
                FrozenOwner::of(
                    lease,
                    &self.parts.identity.host,
                    self.parts.processes.as_ref(),
                )
            }))
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

/// The error for a request its session settled before any owner took: nothing was done.
fn not_carried_out(id: SessionId, action: &ControlAction, status: SessionStatus) -> RuntimeError {
    match action {
        ControlAction::Interrupt => SupervisorError::NotRunning { id, status }.into(),
        ControlAction::Resume { .. } => RuntimeError::Refused {
            code: "not_carried_out".to_owned(),
            message: format!(
                "session {id} became {status} before its owner took the request; nothing was done: try again"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_trait::async_trait;
    use lulu_domain::ports::{
        LocalSlots, MockControlStore, OwnedSession, OwnerLease, SessionWrite, StoreError,
    };
    use lulu_domain::testing::{
        sample_session, spec, wait_for_status, FakeLauncher, Journal, MemoryStore, SequentialIds,
        StopResponse, TestClock,
    };
    use lulu_domain::{OwnerId, Ports, RunOutcome, SessionSupervisor, SupervisorConfig};
    use tokio::sync::{Notify, Semaphore};

    use super::*;
    use crate::owner::OwnerIdentity;
    use crate::processes::tests::FakeProcesses;

    fn runtime(control: MockControlStore) -> Runtime {
        let (launcher, _) = FakeLauncher::new(StopResponse::ExitOnGraceful, Journal::default());
        runtime_over(control, Arc::new(MemoryStore::default()), launcher)
    }

    fn runtime_over(
        control: MockControlStore,
        store: Arc<dyn SessionStore>,
        launcher: FakeLauncher,
    ) -> Runtime {
        runtime_with(control, store, launcher, FakeProcesses::default())
    }

    fn runtime_with(
        control: MockControlStore,
        store: Arc<dyn SessionStore>,
        launcher: FakeLauncher,
        processes: FakeProcesses,
    ) -> Runtime {
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
            processes: Arc::new(processes),
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

    /// A memory store whose save of a settled session waits until the test opens the gate.
    #[derive(Clone)]
    struct GatedStore {
        inner: MemoryStore,
        saving_settled: Arc<Notify>,
        gate: Arc<Semaphore>,
    }

    impl GatedStore {
        fn closed() -> Self {
            Self {
                inner: MemoryStore::default(),
                saving_settled: Arc::default(),
                gate: Arc::new(Semaphore::new(0)),
            }
        }
    }

    #[async_trait]
    impl SessionStore for GatedStore {
        async fn save(&self, write: &SessionWrite) -> Result<(), StoreError> {
            if !write.session.status.is_live() {
                self.saving_settled.notify_one();
                let _ = self.gate.acquire().await;
            }
            self.inner.save(write).await
        }
        async fn session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
            self.inner.session(id).await
        }
        async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<Session>, StoreError> {
            self.inner.list_sessions(query).await
        }
        async fn runs(&self, session_id: SessionId) -> Result<Vec<Run>, StoreError> {
            self.inner.runs(session_id).await
        }
        async fn append_events(&self, entries: &[TranscriptEntry]) -> Result<(), StoreError> {
            self.inner.append_events(entries).await
        }
        async fn events_after(
            &self,
            run_id: RunId,
            after: Option<u64>,
            limit: usize,
        ) -> Result<Vec<TranscriptEntry>, StoreError> {
            self.inner.events_after(run_id, after, limit).await
        }
        async fn delete_session(&self, id: SessionId) -> Result<bool, StoreError> {
            self.inner.delete_session(id).await
        }
    }

    #[tokio::test]
    async fn a_session_that_settles_as_shutdown_begins_is_not_interrupted_nor_reported() {
        let mut control = MockControlStore::new();
        control.expect_drop_lease().times(1).returning(|| Ok(()));
        let store = GatedStore::closed();
        let (launcher, mut launched) =
            FakeLauncher::new(StopResponse::ExitOnGraceful, Journal::default());
        let runtime = Arc::new(runtime_over(control, Arc::new(store.clone()), launcher));
        let session = runtime.start(spec("work")).await.unwrap();
        let run = launched.recv().await.expect("launched");
        wait_for_status(&store, session.id, SessionStatus::Running).await;

        // The run ends; its end is being stored (the session is still this process's).
        run.exit(RunOutcome::Completed, 0).await;
        store.saving_settled.notified().await;
        let shutdown = tokio::spawn({
            let runtime = Arc::clone(&runtime);
            async move { runtime.shutdown().await }
        });
        // Shutdown finds the session among its live ones and waits for its state.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        store.gate.add_permits(1);
        let failed = shutdown.await.unwrap();

        assert!(failed.is_empty(), "reported as not interrupted: {failed:?}");
        assert!(run.stops().is_empty(), "a settled run was stopped");
        let stored = store.session(session.id).await.unwrap().unwrap();
        assert_eq!(stored.status, SessionStatus::Completed);
    }

    #[tokio::test]
    async fn sessions_whose_owner_runs_on_another_host_are_told_apart() {
        let (far, near) = (
            OwnerId::from_uuid(uuid::Uuid::from_u128(7)),
            OwnerId::from_uuid(uuid::Uuid::from_u128(8)),
        );
        let lease = |owner, host: &str| OwnerLease {
            owner,
            pid: 10,
            start_time: 10,
            host: host.into(),
            heartbeat_at: lulu_domain::testing::epoch(),
            expires_at: lulu_domain::testing::epoch(),
        };
        let mut control = MockControlStore::new();
        control.expect_live_sessions().returning(move || {
            Ok(vec![
                OwnedSession {
                    session: sample_session(1),
                    owner: Some(far),
                },
                OwnedSession {
                    session: sample_session(2),
                    owner: Some(near),
                },
                OwnedSession {
                    session: sample_session(3),
                    owner: None,
                },
            ])
        });
        control
            .expect_leases()
            .returning(move || Ok(vec![lease(far, "there"), lease(near, "here")]));
        let runtime = runtime(control);

        let elsewhere = runtime.sessions_owned_elsewhere().await.unwrap();

        assert_eq!(elsewhere, HashSet::from([sample_session(1).id]));
    }

    #[tokio::test]
    async fn the_last_seq_of_a_run_is_found_for_any_length_and_despite_gaps() {
        let store = MemoryStore::default();
        let run = RunId::from_uuid(uuid::Uuid::from_u128(7));
        let other = RunId::from_uuid(uuid::Uuid::from_u128(8));
        let entry = |run_id, seq| TranscriptEntry {
            run_id,
            seq,
            at: chrono::DateTime::UNIX_EPOCH,
            event: lulu_domain::AgentEvent::Diagnostic {
                message: format!("line {seq}"),
            },
        };
        store
            .append_events(&[entry(other, 0), entry(other, 1)])
            .await
            .unwrap();
        let runtime = runtime_over(
            MockControlStore::new(),
            Arc::new(store.clone()),
            FakeLauncher::new(StopResponse::ExitOnGraceful, Journal::default()).0,
        );
        assert_eq!(runtime.last_seq(run).await.unwrap(), None);

        let mut written = Vec::new();
        for seq in [
            0_u64, 1, 2, 3, 5, 8, 13, 100, 1000, 1023, 1024, 1025, 99_999,
        ] {
            store.append_events(&[entry(run, seq)]).await.unwrap();
            written.push(seq);
            assert_eq!(
                runtime.last_seq(run).await.unwrap(),
                Some(seq),
                "after {written:?}"
            );
        }
        assert_eq!(runtime.last_seq(other).await.unwrap(), Some(1));
    }
}
