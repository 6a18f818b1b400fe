//! Interrupting a session: a graceful stop, one silent forceful retry, a deadline.

use tracing::{info, warn};

use super::{SessionSupervisor, SupervisorError, Whereabouts};
use crate::ids::SessionId;
use crate::interrupt::InterruptStep;
use crate::lifecycle::LifecycleEvent;
use crate::session::{Session, SessionStatus};

impl SessionSupervisor {
    /// Stops a running session: a graceful stop, one silent forceful retry after the grace
    /// period, and a give-up at the deadline. A queued session is interrupted at once; a
    /// starting one as soon as its agent is spawned.
    ///
    /// Returns the session once its run has exited (normally `interrupted`; `completed` if
    /// the turn finished first).
    ///
    /// # Errors
    /// `OperationInProgress`, `NotFound`, `NotRunning`, `NotOwnedHere`, `Store`, and
    /// `InterruptTimedOut` when the deadline passed: the session is `running` again, with
    /// `last_error` saying so.
    #[tracing::instrument(skip(self), fields(session_id = %id))]
    pub async fn interrupt(&self, id: SessionId) -> Result<Session, SupervisorError> {
        let _pass = self.enter_now(id)?;
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
        let policy = self.inner.config.interrupt;
        let clock = &self.inner.ports.clock;
        let began = clock.monotonic();
        let mut attempts = 0;
        loop {
            if let Some((status, reason)) = live.end_not_stored() {
                // The agent is gone; only its end is not on record yet. Say exactly that.
                return Err(SupervisorError::EndNotStored { id, status, reason });
            }
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
                            self.settle(&live, &session);
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
                            self.carry_out(&live, pending).await;
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
                    self.carry_out(&live, pending).await;
                    attempts += 1;
                }
                InterruptStep::GiveUp => {
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
                    let after = policy.deadline();
                    self.apply(
                        &mut state,
                        LifecycleEvent::InterruptDeadlinePassed { after },
                    )
                    .await?
                    .nothing_left();
                    warn!(?after, "interrupt gave up: the agent is still running");
                    return Err(SupervisorError::InterruptTimedOut { id, after });
                }
            }
        }
    }
}
