//! Answering the agent's permission requests: from any client, through the process that
//! owns the run (the daemon), like an interrupt.

use lulu_domain::{ApprovalAnswer, Session, SessionId};

use super::Runtime;
use crate::error::RuntimeError;

impl Runtime {
    /// Answers a pending permission request of a session this process owns: `request_id`,
    /// or the oldest pending one. The answer is stored before it reaches the agent; a
    /// request already answered, cancelled by the agent or cleared by the end of its turn
    /// is refused, and of two answers at once exactly one wins.
    ///
    /// # Errors
    /// No pending request (`no_pending_approval`), the session is unknown or owned by
    /// another Lulu process, or a store failure.
    pub async fn answer(
        &self,
        id: SessionId,
        request_id: Option<String>,
        answer: ApprovalAnswer,
    ) -> Result<Session, RuntimeError> {
        if let Some(lost) = self.database_lost() {
            return Err(lost);
        }
        Ok(self.parts.supervisor.answer(id, request_id, answer).await?)
    }
}
