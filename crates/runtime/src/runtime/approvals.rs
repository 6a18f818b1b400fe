//! Answering the agent's permission requests: from any client, through the process that
//! owns the run (the daemon), like an interrupt.

use lulu_domain::ports::ControlAction;
use lulu_domain::{ApprovalAnswer, Session, SessionId};

use super::Runtime;
use crate::error::RuntimeError;

impl Runtime {
    /// Answers a pending permission request of a session: `request_id`, or the oldest
    /// pending one. The owner of its run answers it (this process, or another one asked
    /// through the mailbox). The answer is stored before it reaches the agent; a request
    /// already answered, cancelled by the agent or cleared by the end of its turn is
    /// refused, and of two answers at once exactly one wins.
    ///
    /// # Errors
    /// No pending request (`no_pending_approval`), the session is unknown, its owner did
    /// not answer, or a store failure.
    pub async fn answer(
        &self,
        id: SessionId,
        request_id: Option<String>,
        answer: ApprovalAnswer,
    ) -> Result<Session, RuntimeError> {
        let action = ControlAction::Answer {
            request_id: request_id.clone(),
            answer: answer.clone(),
        };
        let supervisor = &self.parts.supervisor;
        self.here_or_by_owner(id, action, || {
            supervisor.answer(id, request_id.clone(), answer.clone())
        })
        .await
    }
}
