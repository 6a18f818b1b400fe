//! Follow-ups: a user message written to a live run, from any client through the daemon.

use lulu_domain::{Prompt, Session, SessionId};

use super::Runtime;
use crate::error::RuntimeError;

impl Runtime {
    /// Writes `message` on the stdin of a run this process owns: while the agent streams
    /// text it is taken as a next turn of the same run, while a tool runs or a permission
    /// request waits it joins the running turn.
    ///
    /// # Errors
    /// The session takes no more messages (`not_accepting_input`: not running, or its turn
    /// ended), is unknown or owned by another Lulu process, or a store failure.
    pub async fn send(&self, id: SessionId, message: Prompt) -> Result<Session, RuntimeError> {
        if let Some(lost) = self.database_lost() {
            return Err(lost);
        }
        Ok(self.parts.supervisor.send(id, message).await?)
    }
}

impl Runtime {
    /// Ends a kept-open run this process owns that is idle between turns: it ends
    /// `completed`.
    ///
    /// # Errors
    /// Not idle (`not_idle`), unknown, owned by another Lulu process.
    pub async fn close(&self, id: SessionId) -> Result<Session, RuntimeError> {
        Ok(self.parts.supervisor.close(id).await?)
    }
}
