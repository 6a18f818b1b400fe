//! Interrupting a session: a graceful stop, one silent forceful retry, a deadline.

use tracing::{info, warn};

use super::live::LiveSession;
use super::{SessionSupervisor, SupervisorError, Whereabouts};
use crate::ids::SessionId;
use crate::interrupt::{InterruptMode, InterruptStep};
use crate::lifecycle::LifecycleEvent;
use crate::session::{Session, SessionStatus};

impl SessionSupervisor {
    /// Stops a running session: a graceful stop, one silent forceful retry after the grace
    /// period, and a give-up at the deadline. A queued session is interrupted at once; a
    /// starting one as soon as its agent is spawned.
    ///
    /// Returns the session once it has settled: at the interrupted turn's `result`, while
    /// the agent exits (its exit is recorded later, and a resume waits for it), or when the
    /// run exited (normally `interrupted`; `completed` if the turn finished first).
    ///
    /// # Errors
    /// `OperationInProgress`, `NotFound`, `NotRunning`, `NotOwnedHere`, `Store`, and
    /// `InterruptTimedOut` when the deadline passed: the session is `running` again, with
    /// `last_error` saying so.
    pub async fn interrupt(&self, id: SessionId) -> Result<Session, SupervisorError> {
        self.interrupt_in_mode(id, InterruptMode::Graceful).await
    }

    /// [`interrupt`](Self::interrupt) with the patience `mode` gives it. An
    /// [`InterruptMode::Immediate`] interrupt of a session whose interrupt is under way
    /// makes that one skip its grace period and waits for it: it then returns the settled
    /// session, or carries on itself if the session is still live here (the other one
    /// gave up).
    ///
    /// # Errors
    /// As [`interrupt`](Self::interrupt).
    #[tracing::instrument(skip(self), fields(session_id = %id))]
    pub async fn interrupt_in_mode(
        &self,
        id: SessionId,
        mode: InterruptMode,
    ) -> Result<Session, SupervisorError> {
        let _pass = match self.enter_to_interrupt(id, mode).await? {
            Entry::Pass(pass) => pass,
            Entry::SettledMeanwhile(session) => return Ok(*session),
        };
        let Some(live) = self.live(id) else {
            return Err(match self.whereabouts(id).await? {
                Whereabouts::LiveElsewhere(status) => SupervisorError::NotOwnedHere { id, status },
                Whereabouts::Settled(session) => SupervisorError::NotRunning {
                    id,
                    status: session.status,
                },
                // It became live here between the two looks: another operation is under way.
                Whereabouts::LiveHere(_) => SupervisorError::OperationInProgress(id),
            });
        };
        if mode == InterruptMode::Immediate {
            // Known to the run before it is spawned: a forced interrupt of a starting
            // session stops its agent forcefully as soon as it exists.
            live.hurry();
        }
        let stopped = self.stop_live(id, &live, mode).await;
        if stopped.is_err() {
            // Whatever hurried this interrupt ends with it: the next one has its own mode.
            live.unhurry();
        }
        stopped
    }

    /// The interrupt's steps on a session live here, its gate held: graceful, forceful
    /// after the grace `mode` leaves, given up at the deadline.
    async fn stop_live(
        &self,
        id: SessionId,
        live: &LiveSession,
        mode: InterruptMode,
    ) -> Result<Session, SupervisorError> {
        let configured = self.inner.config.interrupt;
        let clock = &self.inner.ports.clock;
        let began = clock.monotonic();
        let mut attempts = 0;
        loop {
            if let Some((status, reason)) = live.end_not_stored() {
                // The agent is gone; only its end is not on record yet. Say exactly that.
                return Err(SupervisorError::EndNotStored { id, status, reason });
            }
            let hurried = live.is_hurried();
            let mode = if hurried {
                InterruptMode::Immediate
            } else {
                mode
            };
            let policy = configured.in_mode(mode);
            match policy.next_step(attempts, clock.monotonic() - began) {
                InterruptStep::StopGracefully => {
                    let mut state = live.state.lock().await;
                    match state.status {
                        SessionStatus::Queued => {
                            self.apply(&mut state, LifecycleEvent::InterruptRequested)
                                .await?
                                .nothing_left();
                            let session = state.clone();
                            drop(state);
                            self.settle(live, &session);
                            info!("queued session interrupted before it started");
                            return Ok(session);
                        }
                        SessionStatus::Starting
                        | SessionStatus::Running
                        | SessionStatus::NeedsApproval
                        | SessionStatus::Idle => {
                            // Starting: the agent is stopped as soon as it is spawned.
                            let pending = self
                                .apply(&mut state, LifecycleEvent::InterruptRequested)
                                .await?;
                            drop(state);
                            self.carry_out(live, pending).await;
                        }
                        status @ (SessionStatus::Interrupting
                        | SessionStatus::Interrupted
                        | SessionStatus::Completed
                        | SessionStatus::Failed) => {
                            return Err(SupervisorError::NotRunning { id, status });
                        }
                    }
                    attempts += 1;
                }
                InterruptStep::WaitUntil(elapsed) => {
                    tokio::select! {
                        session = live.settled() => return Ok(session),
                        () = clock.sleep_until(began + elapsed) => {}
                        () = live.hurried(), if !hurried => {}
                    }
                }
                InterruptStep::StopForcefully => {
                    let mut state = live.state.lock().await;
                    if !state.status.is_live() {
                        return Ok(state.clone());
                    }
                    let pending = self
                        .apply(&mut state, LifecycleEvent::StopEscalated)
                        .await?;
                    drop(state);
                    info!("graceful stop did not take effect in time; retrying forcefully");
                    self.carry_out(live, pending).await;
                    attempts += 1;
                }
                InterruptStep::GiveUp => return self.give_up(id, live, policy.deadline()).await,
            }
        }
    }

    /// The deadline `after` passed: the session as it settled meanwhile, or the error
    /// that says why it has not (its end is not stored yet, or the agent still runs:
    /// then the session is `running` again, with `last_error` saying so).
    async fn give_up(
        &self,
        id: SessionId,
        live: &LiveSession,
        after: std::time::Duration,
    ) -> Result<Session, SupervisorError> {
        let mut state = live.state.lock().await;
        if !state.status.is_live() {
            return Ok(state.clone());
        }
        if live.has_exited() {
            // Not "still running": the agent exited and its end is being stored.
            let (status, reason) = live.end_not_stored().unwrap_or((
                state.status,
                "storing its end is still being retried".to_owned(),
            ));
            return Err(SupervisorError::EndNotStored { id, status, reason });
        }
        live.unhurry();
        self.apply(
            &mut state,
            LifecycleEvent::InterruptDeadlinePassed { after },
        )
        .await?
        .nothing_left();
        warn!(?after, "interrupt gave up: the agent is still running");
        Err(SupervisorError::InterruptTimedOut { id, after })
    }

    /// Takes the session's gate for an interrupt. An immediate one finding an operation
    /// under way hurries it (an interrupt skips its grace) and waits its turn; if the
    /// session settled meanwhile, that is the answer.
    async fn enter_to_interrupt(
        &self,
        id: SessionId,
        mode: InterruptMode,
    ) -> Result<Entry, SupervisorError> {
        if let Some(pass) = self.inner.gate.try_enter(id) {
            return Ok(Entry::Pass(pass));
        }
        let live = match self.live(id) {
            Some(live) if mode == InterruptMode::Immediate => live,
            _ => return Err(SupervisorError::OperationInProgress(id)),
        };
        live.hurry();
        info!("an interrupt is under way: asked it to stop the run forcefully now");
        let pass = self.inner.gate.enter(id).await;
        if self.live(id).is_none_or(|live| live.is_settled()) {
            return Ok(Entry::SettledMeanwhile(Box::new(self.stored(id).await?)));
        }
        Ok(Entry::Pass(pass))
    }
}

/// How an interrupt entered the session's gate.
enum Entry {
    /// It holds the gate.
    Pass(super::gate::GatePass),
    /// The session settled while it waited (the interrupt under way stopped it).
    SettledMeanwhile(Box<Session>),
}
