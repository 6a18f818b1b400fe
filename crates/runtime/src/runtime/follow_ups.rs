//! Follow-ups: a user message written to a live run, and closing a kept-open run, from any
//! client: through the daemon, or through the mailbox to the process that owns the run.

use lulu_domain::ports::ControlAction;
use lulu_domain::{Prompt, Session, SessionId};

use super::Runtime;
use crate::error::RuntimeError;

impl Runtime {
    /// Writes `message` on the stdin of a session's live run (its owner does: this
    /// process, or another one asked through the mailbox): while the agent streams text
    /// it is taken as a next turn of the same run, while a tool runs or a permission
    /// request waits it joins the running turn.
    ///
    /// # Errors
    /// The session takes no more messages (`not_accepting_input`: not running, or its turn
    /// ended), is unknown, its owner did not answer, or a store failure.
    pub async fn send(&self, id: SessionId, message: Prompt) -> Result<Session, RuntimeError> {
        let action = ControlAction::Send {
            message: message.clone(),
        };
        let supervisor = &self.parts.supervisor;
        self.here_or_by_owner(id, action, || supervisor.send(id, message.clone()))
            .await
    }

    /// Ends a kept-open run that is idle between turns (its owner does, here or asked
    /// through the mailbox): it ends `completed`.
    ///
    /// # Errors
    /// Not idle (`not_idle`), unknown, its owner did not answer.
    pub async fn close(&self, id: SessionId) -> Result<Session, RuntimeError> {
        let supervisor = &self.parts.supervisor;
        self.here_or_by_owner(id, ControlAction::Close, || supervisor.close(id))
            .await
    }
}
