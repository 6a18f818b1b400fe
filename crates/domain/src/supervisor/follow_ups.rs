//! Follow-ups: user messages written to a live run, which the agent takes into its turn.

use tracing::info;

use super::{SessionSupervisor, SupervisorError, Whereabouts};
use crate::ids::SessionId;
use crate::input::Prompt;
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
            SessionStatus::Running | SessionStatus::NeedsApproval => {}
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
