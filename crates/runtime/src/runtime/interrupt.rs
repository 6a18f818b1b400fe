//! Interrupting a session wherever its owner is.

use lulu_domain::ports::ControlAction;
use lulu_domain::{Session, SessionId, SupervisorError};

use super::Runtime;
use crate::error::RuntimeError;

impl Runtime {
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
}
