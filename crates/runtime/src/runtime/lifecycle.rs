//! Starting, resuming and deleting sessions.

use tracing::warn;

use lulu_domain::ports::ControlAction;
use lulu_domain::{OptionOverrides, Prompt, Session, SessionId, SessionSpec, SupervisorError};

use super::Runtime;
use crate::error::RuntimeError;

impl Runtime {
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

    /// Continues a settled session with a follow-up prompt, owned by this process (it must
    /// [`serve`](Self::serve)). `overrides` replace the session's options for this run
    /// only. A live session's owner is asked instead, and refuses.
    ///
    /// # Errors
    /// Not found, still live, another operation in flight, or a store failure.
    pub async fn resume(
        &self,
        id: SessionId,
        prompt: Prompt,
        overrides: OptionOverrides,
    ) -> Result<Session, RuntimeError> {
        if let Some(lost) = self.database_lost() {
            return Err(lost);
        }
        self.recover().await?;
        let session = self.session(id).await?;
        if session.status.is_live() {
            if !overrides.is_empty() {
                // The mailbox carries no options: never let its owner resume without them.
                return Err(SupervisorError::NotResumable {
                    id,
                    status: session.status,
                }
                .into());
            }
            return self.ask_owner(id, ControlAction::Resume { prompt }).await;
        }
        if !self.parts.control.claim_session(id).await? {
            return Err(SupervisorError::OperationInProgress(id).into());
        }
        match self.parts.supervisor.resume(id, prompt, overrides).await {
            Ok(session) => Ok(session),
            Err(error) => {
                if let Err(unclaim) = self.parts.control.unclaim_session(id).await {
                    warn!(session_id = %id, %unclaim, "could not release the claim on a session");
                }
                Err(error.into())
            }
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
            self.interrupt(id, lulu_domain::InterruptMode::Graceful)
                .await?;
        }
        Ok(self.parts.supervisor.delete(id).await?)
    }
}
