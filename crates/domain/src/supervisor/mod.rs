//! The session supervisor: the only mutator of lifecycle state.
//!
//! Every change goes through [`transition`](crate::lifecycle::transition); its effects are
//! carried out in order, so a change is always stored before it is announced. A
//! per-session gate refuses a second lifecycle operation while one is in flight, and
//! operations on different sessions never wait on each other.

mod approvals;
mod error;
mod follow_ups;
mod gate;
mod interrupt;
mod live;
mod retry;
mod tasks;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::broadcast;
use tracing::info;

pub use error::SupervisorError;

use crate::ids::SessionId;
use crate::input::{OptionOverrides, Prompt};
use crate::interrupt::InterruptPolicy;
use crate::lifecycle::{transition, ConversationMode, Effect, LifecycleEvent, RunChange};
use crate::ports::{
    AgentLauncher, Clock, IdGenerator, RunSlots, SessionStore, SessionUpdate, SessionWrite,
    UpdatePublisher,
};
use crate::session::{Session, SessionSpec, SessionStatus};
use gate::OperationGate;
use live::LiveSession;

/// The effects a stored transition leaves to [`SessionSupervisor::carry_out`].
#[must_use = "a transition's launch and stop effects must be carried out"]
struct Pending(Vec<Effect>);

impl Pending {
    /// For transitions that only store and announce (the table says which): nothing is
    /// left to carry out.
    fn nothing_left(self) {
        debug_assert!(self.0.is_empty(), "effects left undone: {:?}", self.0);
    }
}

/// Where a session is, for operations that need it settled.
enum Whereabouts {
    /// This supervisor runs it.
    LiveHere(SessionStatus),
    /// Another process runs it.
    LiveElsewhere(SessionStatus),
    /// It has no live run; its stored value.
    Settled(Box<Session>),
}

/// The adapters the supervisor works through.
#[derive(Clone)]
pub struct Ports {
    /// Durable storage.
    pub store: Arc<dyn SessionStore>,
    /// Starts agent runs.
    pub launcher: Arc<dyn AgentLauncher>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// New ids.
    pub ids: Arc<dyn IdGenerator>,
    /// Announces stored changes.
    pub updates: Arc<dyn UpdatePublisher>,
    /// Limits how many runs are alive at once.
    pub slots: Arc<dyn RunSlots>,
}

/// Tunables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SupervisorConfig {
    /// When to retry forcefully and when to give up an interrupt.
    pub interrupt: InterruptPolicy,
    /// How long a permission request may wait for an answer before Lulu denies it;
    /// `None` waits as long as it takes (the agent itself never gives up).
    pub approval_timeout: Option<std::time::Duration>,
    /// How long a kept-open run may idle between turns before it is closed; `None`: until
    /// it is closed or interrupted.
    pub idle_timeout: Option<std::time::Duration>,
}

/// Starts, interrupts and resumes sessions; cheap to clone (all clones share one state).
#[derive(Clone)]
pub struct SessionSupervisor {
    inner: Arc<Inner>,
}

struct Inner {
    ports: Ports,
    config: SupervisorConfig,
    gate: Arc<OperationGate>,
    live: Mutex<HashMap<SessionId, Arc<LiveSession>>>,
}

impl SessionSupervisor {
    /// A supervisor over the given ports.
    pub fn new(ports: Ports, config: SupervisorConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                ports,
                config,
                gate: Arc::default(),
                live: Mutex::default(),
            }),
        }
    }

    /// Updates announced from now on: session values and transcript entries, each after it was stored.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionUpdate> {
        self.inner.ports.updates.subscribe()
    }

    /// Creates a session, stores it as `queued` and launches it as soon as a run slot is free.
    ///
    /// Returns the stored session; follow it with [`subscribe`](Self::subscribe) or
    /// [`wait_until_settled`](Self::wait_until_settled).
    ///
    /// # Errors
    /// [`SupervisorError::Store`] if the session could not be stored; nothing was started.
    #[tracing::instrument(skip_all)]
    pub async fn start(&self, spec: SessionSpec) -> Result<Session, SupervisorError> {
        let ports = &self.inner.ports;
        let (session, run) = Session::queued(
            ports.ids.session_id(),
            ports.ids.run_id(),
            spec,
            ports.clock.now(),
        );
        // Held until the session is registered, so no operation sees it half-made.
        let _pass = self.enter_now(session.id)?;
        let write = SessionWrite {
            session: session.clone(),
            run_change: Some(RunChange::Created(run)),
            approval_change: None,
        };
        ports.store.save(&write).await?;
        ports
            .updates
            .publish(SessionUpdate::Session(session.clone()));
        info!(session_id = %session.id, "session queued");
        self.launch_when_ready(&session, session.prompt.clone(), session.options.clone());
        Ok(session)
    }

    /// Continues an interrupted, completed or failed session with a follow-up prompt, in
    /// the same session row: `resume_count + 1`, a new run, `--resume` if the agent's
    /// conversation was established (else a fresh start with the same id).
    ///
    /// Returns the session as stored (`queued`); the run launches when a slot is free.
    ///
    /// # Errors
    /// `OperationInProgress`, `NotFound`, `NotResumable` (still live), `NotOwnedHere`, `Store`.
    /// `overrides` replace the session's options for this run only.
    #[tracing::instrument(skip(self, prompt, overrides), fields(session_id = %id))]
    pub async fn resume(
        &self,
        id: SessionId,
        prompt: Prompt,
        overrides: OptionOverrides,
    ) -> Result<Session, SupervisorError> {
        let _pass = self.enter_now(id)?;
        let mut session = match self.whereabouts(id).await? {
            Whereabouts::LiveHere(status) => {
                return Err(SupervisorError::NotResumable { id, status })
            }
            Whereabouts::LiveElsewhere(status) => {
                return Err(SupervisorError::NotOwnedHere { id, status })
            }
            Whereabouts::Settled(session) => *session,
        };
        let run_id = self.inner.ports.ids.run_id();
        self.apply(
            &mut session,
            LifecycleEvent::ResumeRequested {
                run_id,
                prompt: prompt.clone(),
                overrides: overrides.clone(),
            },
        )
        .await?
        .nothing_left();
        info!(resume_count = session.resume_count, %run_id, "session resumed");
        let options = overrides.applied_to(&session.options);
        self.launch_when_ready(&session, prompt, options);
        Ok(session)
    }

    /// Settles a live session whose owning process died: its recorded processes must
    /// already be stopped. Moves it to `interrupted` with `reason` as `last_error`.
    /// A session that is not live, or is owned by this supervisor, is returned unchanged.
    ///
    /// # Errors
    /// `OperationInProgress`, `NotFound`, `Store`.
    #[tracing::instrument(skip(self, reason), fields(session_id = %id))]
    pub async fn recover(&self, id: SessionId, reason: String) -> Result<Session, SupervisorError> {
        let _pass = self.enter_now(id)?;
        if let Some(live) = self.live(id) {
            return Ok(live.state.lock().await.clone());
        }
        let mut session = self.stored(id).await?;
        if !session.status.is_live() {
            return Ok(session);
        }
        self.apply(&mut session, LifecycleEvent::OwnerLost { reason })
            .await?
            .nothing_left();
        info!("recovered a session whose owner died");
        Ok(session)
    }

    /// Deletes a session that has no live run, with its runs and transcript.
    ///
    /// # Errors
    /// `OperationInProgress`, `StillLive` (interrupt it first), `NotFound`, `Store`.
    #[tracing::instrument(skip(self), fields(session_id = %id))]
    pub async fn delete(&self, id: SessionId) -> Result<(), SupervisorError> {
        let _pass = self.enter_now(id)?;
        match self.whereabouts(id).await? {
            Whereabouts::LiveHere(status) | Whereabouts::LiveElsewhere(status) => {
                return Err(SupervisorError::StillLive { id, status });
            }
            Whereabouts::Settled(_) => {}
        }
        if !self.inner.ports.store.delete_session(id).await? {
            return Err(SupervisorError::NotFound(id));
        }
        self.inner.ports.updates.publish(SessionUpdate::Deleted(id));
        info!("session deleted");
        Ok(())
    }

    /// Waits until the session is no longer live here, and returns its final value.
    ///
    /// # Errors
    /// `NotFound`, or `Store` when it has to be read back.
    pub async fn wait_until_settled(&self, id: SessionId) -> Result<Session, SupervisorError> {
        if let Some(live) = self.live(id) {
            return Ok(live.settled().await);
        }
        self.stored(id).await
    }

    /// Ids of the sessions this supervisor owns a queued or live run for (not those
    /// settled at an interrupted turn's end whose agent is still exiting).
    pub fn live_sessions(&self) -> Vec<SessionId> {
        self.live_map()
            .iter()
            .filter(|(_, live)| !live.is_settled())
            .map(|(id, _)| *id)
            .collect()
    }

    /// Waits until this supervisor holds no run at all: every agent process reaped and its
    /// end stored, those of settled sessions too. Bound it with a timeout.
    pub async fn runs_reaped(&self) {
        loop {
            let Some(live) = self.live_map().values().next().cloned() else {
                return;
            };
            live.gone().await;
        }
    }

    /// The stored session.
    ///
    /// # Errors
    /// `NotFound`, `Store`.
    async fn stored(&self, id: SessionId) -> Result<Session, SupervisorError> {
        self.inner
            .ports
            .store
            .session(id)
            .await?
            .ok_or(SupervisorError::NotFound(id))
    }

    /// Whether the session is live here, live in another process, or settled.
    ///
    /// # Errors
    /// `NotFound`, `Store`.
    async fn whereabouts(&self, id: SessionId) -> Result<Whereabouts, SupervisorError> {
        if let Some(live) = self.live(id) {
            if !live.is_settled() {
                return Ok(Whereabouts::LiveHere(live.state.lock().await.status));
            }
            // Settled at an interrupted turn's end, its agent still exiting: what comes
            // next (a resume would start a second agent on the conversation) waits until
            // it is gone. The adapter ends it well within the interrupt deadline.
            let clock = &self.inner.ports.clock;
            let patience = clock.monotonic() + self.inner.config.interrupt.deadline();
            tokio::select! {
                () = live.gone() => {}
                () = clock.sleep_until(patience) => {
                    return Err(SupervisorError::OperationInProgress(id));
                }
            }
        }
        let stored = self.stored(id).await?;
        if stored.status.is_live() {
            return Ok(Whereabouts::LiveElsewhere(stored.status));
        }
        Ok(Whereabouts::Settled(Box::new(stored)))
    }

    fn enter_now(&self, id: SessionId) -> Result<gate::GatePass, SupervisorError> {
        self.inner
            .gate
            .try_enter(id)
            .ok_or(SupervisorError::OperationInProgress(id))
    }

    fn live_map(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Arc<LiveSession>>> {
        self.inner
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn live(&self, id: SessionId) -> Option<Arc<LiveSession>> {
        self.live_map().get(&id).cloned()
    }

    /// Applies `event` to `session`: stores, then announces, per the transition's effects.
    /// Returns the effects left to [`carry_out`](Self::carry_out) (launch, stop). On error
    /// nothing changed.
    async fn apply(
        &self,
        session: &mut Session,
        event: LifecycleEvent,
    ) -> Result<Pending, SupervisorError> {
        let name = event.name();
        let next = transition(session, event, self.inner.ports.clock.now())?;
        let mut actions = Vec::new();
        for effect in next.effects {
            match effect {
                Effect::Persist => {
                    let write = SessionWrite {
                        session: next.session.clone(),
                        run_change: next.run_change.clone(),
                        approval_change: next.approval_change.clone(),
                    };
                    self.inner.ports.store.save(&write).await?;
                }
                Effect::Announce => {
                    self.inner
                        .ports
                        .updates
                        .publish(SessionUpdate::Session(next.session.clone()));
                }
                action @ (Effect::Launch { .. }
                | Effect::Stop(_)
                | Effect::CloseInput
                | Effect::Answer { .. }) => {
                    actions.push(action);
                }
            }
        }
        tracing::debug!(session_id = %session.id, event = name, from = %session.status, to = %next.session.status, "transition");
        *session = next.session;
        Ok(Pending(actions))
    }

    /// Carries out what a stored transition left to do: the one place its stop effects
    /// reach the run. Returns the launch it asks for, for the caller that starts runs.
    /// Call it without holding the session's state lock.
    async fn carry_out(&self, live: &LiveSession, pending: Pending) -> Option<ConversationMode> {
        let mut launch = None;
        for effect in pending.0 {
            match effect {
                Effect::Stop(mode) => live.stop(mode).await,
                Effect::Answer { request, answer } => live.answer(&request, &answer).await,
                Effect::CloseInput => live.close_input().await,
                Effect::Launch { mode } => launch = Some(mode),
                Effect::Persist | Effect::Announce => {}
            }
        }
        launch
    }

    /// Marks a live session as settled and forgets it: its run is over, process and all.
    fn settle(&self, live: &LiveSession, session: &Session) {
        // Forgotten first: whoever wakes up on the settled value must not find it live.
        {
            let mut map = self.live_map();
            if map
                .get(&session.id)
                .is_some_and(|known| std::ptr::eq(Arc::as_ptr(known), live))
            {
                map.remove(&session.id);
            }
        }
        live.settle(session.clone());
        live.mark_gone();
    }
}

#[cfg(test)]
mod tests;
