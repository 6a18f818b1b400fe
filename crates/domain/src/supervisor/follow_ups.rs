//! Follow-ups: user messages written to a live run, which the agent takes into its turn.

use std::sync::Arc;
use std::time::Duration;

use tracing::{error, info, Instrument};

use super::{LiveSession, SessionSupervisor, SupervisorError, Whereabouts};
use crate::ids::SessionId;
use crate::input::Prompt;
use crate::lifecycle::LifecycleEvent;
use crate::ports::StopError;
use crate::session::{Session, SessionStatus};

impl SessionSupervisor {
    /// Writes `message` on the stdin of a run this supervisor owns. The agent takes it as
    /// it does (while it streams text: queued for a next turn in the same run; while a
    /// tool runs or a permission request waits: into the running turn). The transcript
    /// records it where it was sent.
    ///
    /// Returns the session as it is.
    ///
    /// # Errors
    /// `NotAcceptingInput` (not running, or its turn ended and the run is finishing),
    /// `NotOwnedHere`, `NotFound`, `Store`.
    #[tracing::instrument(skip(self, message), fields(session_id = %id))]
    pub async fn send(&self, id: SessionId, message: Prompt) -> Result<Session, SupervisorError> {
        let refused = |status, reason: &str| SupervisorError::NotAcceptingInput {
            id,
            status,
            reason: reason.to_owned(),
        };
        let Some(live) = self.live(id) else {
            return Err(match self.whereabouts(id).await? {
                Whereabouts::LiveElsewhere(status) => SupervisorError::NotOwnedHere { id, status },
                Whereabouts::Settled(session) => refused(
                    session.status,
                    "it has no live run; resume it to continue the conversation",
                ),
                Whereabouts::LiveHere(_) => SupervisorError::OperationInProgress(id),
            });
        };
        // Held while the line is handed over, so the turn's end cannot slip in between.
        let state = live.state.lock().await;
        match state.status {
            SessionStatus::Running | SessionStatus::NeedsApproval | SessionStatus::Idle => {}
            SessionStatus::Queued | SessionStatus::Starting => {
                return Err(refused(
                    state.status,
                    "its agent is not running yet; try again in a moment",
                ))
            }
            status @ (SessionStatus::Interrupting
            | SessionStatus::Interrupted
            | SessionStatus::Completed
            | SessionStatus::Failed) => {
                return Err(refused(
                    status,
                    "it is stopping or has stopped; resume it to continue the conversation",
                ))
            }
        }
        match live.send(message.as_str()).await {
            Ok(()) => {
                info!("follow-up sent");
                Ok(state.clone())
            }
            Err(StopError::AlreadyExited | StopError::Failed { .. }) => Err(refused(
                state.status,
                "its turn has ended and the run is finishing; resume it to continue the conversation",
            )),
        }
    }
}

impl SessionSupervisor {
    /// Ends a kept-open run that is idle between turns: its stdin is closed and it ends
    /// `completed` once it exits.
    ///
    /// Returns the session as it is (still `idle`; follow it to see it end).
    ///
    /// # Errors
    /// `NotIdle` (it is in a turn, or not kept open), `NotOwnedHere`, `NotFound`.
    #[tracing::instrument(skip(self), fields(session_id = %id))]
    pub async fn close(&self, id: SessionId) -> Result<Session, SupervisorError> {
        let Some(live) = self.live(id) else {
            return Err(match self.whereabouts(id).await? {
                Whereabouts::LiveElsewhere(status) => SupervisorError::NotOwnedHere { id, status },
                Whereabouts::Settled(session) => SupervisorError::NotIdle {
                    id,
                    status: session.status,
                },
                Whereabouts::LiveHere(_) => SupervisorError::OperationInProgress(id),
            });
        };
        let mut state = live.state.lock().await;
        if state.status != SessionStatus::Idle {
            return Err(SupervisorError::NotIdle {
                id,
                status: state.status,
            });
        }
        let pending = self
            .apply(&mut state, LifecycleEvent::CloseRequested)
            .await?;
        let session = state.clone();
        drop(state);
        self.carry_out(&live, pending).await;
        info!("kept-open run closed");
        Ok(session)
    }

    /// Closes the run once it has been idle for `after` with nothing else happening
    /// (`idle_since`: the session's `updated_at` when it went idle).
    pub(super) fn close_when_idle(
        &self,
        live: &Arc<LiveSession>,
        idle_since: chrono::DateTime<chrono::Utc>,
        after: Duration,
    ) {
        let supervisor = self.clone();
        let live = Arc::clone(live);
        let clock = Arc::clone(&self.inner.ports.clock);
        let deadline = clock.monotonic() + after;
        let task = async move {
            if !live.outlives(clock.as_ref(), deadline).await {
                return;
            }
            let mut state = live.state.lock().await;
            if state.status != SessionStatus::Idle || state.updated_at != idle_since {
                return;
            }
            match supervisor
                .apply(&mut state, LifecycleEvent::CloseRequested)
                .await
            {
                Ok(pending) => {
                    drop(state);
                    supervisor.carry_out(&live, pending).await;
                    info!(?after, "idle too long: closed the kept-open run");
                }
                Err(error) => error!(%error, "could not close an idle run"),
            }
        };
        tokio::spawn(task.in_current_span());
    }
}
