//! Interrupting a session wherever its owner is, and what came of it.

use serde::{Deserialize, Serialize};

use lulu_domain::ports::ControlAction;
use lulu_domain::{InterruptMode, Session, SessionId, SessionStatus, SupervisorError};

use super::Runtime;
use crate::error::RuntimeError;

/// What an interrupt came to. An interrupt that timed out (the agent still runs at the
/// deadline) is an error instead: [`RuntimeError::Supervisor`] with
/// [`SupervisorError::InterruptTimedOut`], code `interrupt_timed_out`.
#[allow(clippy::large_enum_variant)] // one per interrupt, never stored in bulk
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum InterruptOutcome {
    /// The run was stopped: the session is `interrupted` (and resumable).
    Interrupted {
        /// The session as stored.
        session: Session,
    },
    /// The run ended by itself before the interrupt took effect; the session's status
    /// says how (completed or failed).
    FinishedFirst {
        /// The session as stored.
        session: Session,
    },
}

impl InterruptOutcome {
    /// The outcome an interrupt that ended with `session` settled had.
    pub fn of(session: Session) -> Self {
        if session.status == SessionStatus::Interrupted {
            Self::Interrupted { session }
        } else {
            Self::FinishedFirst { session }
        }
    }

    /// The session as the interrupt left it.
    pub fn session(&self) -> &Session {
        match self {
            Self::Interrupted { session } | Self::FinishedFirst { session } => session,
        }
    }

    /// Whether the run was stopped by the interrupt.
    pub fn interrupted(&self) -> bool {
        matches!(self, Self::Interrupted { .. })
    }
}

impl Runtime {
    /// Interrupts a session, wherever its owner is, and waits for the outcome.
    /// [`InterruptMode::Immediate`] skips the grace period (and hurries an interrupt of
    /// the session already under way here); a session another owner runs is asked
    /// through the mailbox, in the same mode.
    ///
    /// # Errors
    /// Not found, not running, another operation in flight, the interrupt timed out, or
    /// the owner did not answer.
    pub async fn interrupt(
        &self,
        id: SessionId,
        mode: InterruptMode,
    ) -> Result<InterruptOutcome, RuntimeError> {
        if self.parts.supervisor.live_sessions().contains(&id) {
            let session = self.parts.supervisor.interrupt_in_mode(id, mode).await?;
            return Ok(InterruptOutcome::of(session));
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
        let session = self
            .ask_owner(id, ControlAction::Interrupt { mode })
            .await?;
        Ok(InterruptOutcome::of(session))
    }
}
