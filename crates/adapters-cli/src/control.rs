//! The [`RunControl`] of a CLI run: a mailbox into the run's owner task.

use async_trait::async_trait;
use lulu_domain::ports::{RunControl, StopError};
use lulu_domain::{ApprovalAnswer, ApprovalRequest, StopMode};
use tokio::sync::{mpsc, oneshot};

use crate::stdin::permission_answer_line;

/// What the run's owner task is asked to do.
#[derive(Debug)]
pub enum OwnerCommand {
    /// Stop the run.
    Stop(StopMode),
    /// Write this line on the agent's stdin (while it is open).
    Write(String),
    /// Close the agent's stdin: a kept-open run ends after its turn.
    CloseInput,
    /// Write this follow-up as a `user` line; the reply says whether stdin took it.
    Send(String, oneshot::Sender<bool>),
}

/// Delivers stop requests and answers to the task that owns the run's process.
#[derive(Debug, Clone)]
pub struct CliRunControl {
    commands: mpsc::UnboundedSender<OwnerCommand>,
}

impl CliRunControl {
    /// A control that sends into `commands` (the owner closes it once the child is reaped).
    pub fn new(commands: mpsc::UnboundedSender<OwnerCommand>) -> Self {
        Self { commands }
    }
}

#[async_trait]
impl RunControl for CliRunControl {
    /// Queues the request for the owner task and returns at once.
    ///
    /// # Errors
    /// [`StopError::AlreadyExited`] once the process has been reaped.
    async fn stop(&self, mode: StopMode) -> Result<(), StopError> {
        self.commands
            .send(OwnerCommand::Stop(mode))
            .map_err(|_| StopError::AlreadyExited)
    }

    /// Queues the answer's `control_response` line for the agent's stdin.
    ///
    /// # Errors
    /// [`StopError::AlreadyExited`] once the process has been reaped.
    async fn answer(
        &self,
        request: &ApprovalRequest,
        answer: &ApprovalAnswer,
    ) -> Result<(), StopError> {
        self.commands
            .send(OwnerCommand::Write(permission_answer_line(request, answer)))
            .map_err(|_| StopError::AlreadyExited)
    }

    /// Asks the owner task to close the agent's stdin.
    ///
    /// # Errors
    /// [`StopError::AlreadyExited`] once the process has been reaped.
    async fn close_input(&self) -> Result<(), StopError> {
        self.commands
            .send(OwnerCommand::CloseInput)
            .map_err(|_| StopError::AlreadyExited)
    }

    /// Hands the follow-up to the owner task and waits until it was written (or not).
    ///
    /// # Errors
    /// [`StopError::AlreadyExited`] once the process has been reaped;
    /// [`StopError::Failed`] when its stdin is closed (the turn ended).
    async fn send(&self, text: &str) -> Result<(), StopError> {
        let (reply, written) = oneshot::channel();
        self.commands
            .send(OwnerCommand::Send(text.to_owned(), reply))
            .map_err(|_| StopError::AlreadyExited)?;
        match written.await {
            Ok(true) => Ok(()),
            Ok(false) => Err(StopError::Failed {
                message: "the agent's stdin is closed".to_owned(),
            }),
            Err(_) => Err(StopError::AlreadyExited),
        }
    }
}
