//! The agent launcher port: starts runs and hands back a handle to follow and stop them.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::agent::RunUpdate;
use crate::approval::{ApprovalAnswer, ApprovalRequest};
use crate::ids::{RunId, SessionId};
use crate::input::{AgentOptions, Prompt, WorkingDir};
use crate::lifecycle::{ConversationMode, StopMode};

/// Everything needed to launch one run of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// The session (and agent conversation) id.
    pub session_id: SessionId,
    /// The run being launched.
    pub run_id: RunId,
    /// Directory to run in.
    pub cwd: WorkingDir,
    /// The prompt for this run's turn.
    pub prompt: Prompt,
    /// Options passed through to the agent.
    pub options: AgentOptions,
    /// Begin the conversation, or continue it.
    pub mode: ConversationMode,
}

/// A live run: its process id, its ordered updates, and a way to stop it.
///
/// `updates` yields the run's events in order and then exactly one
/// [`RunUpdate::Exited`], sent after the process was reaped. If the channel closes
/// without an exit, the run is treated as crashed.
pub struct RunHandle {
    /// The agent's process id.
    pub pid: u32,
    /// Events, then the exit.
    pub updates: mpsc::Receiver<RunUpdate>,
    /// Stops the run.
    pub control: Arc<dyn RunControl>,
}

impl std::fmt::Debug for RunHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunHandle")
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

/// Why a run could not be launched. Nothing was left running.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LaunchError {
    /// The agent binary was not found.
    #[error("the agent binary `{binary}` was not found: install Claude Code (`npm install -g @anthropic-ai/claude-code`) or point --claude-bin / LULU_CLAUDE_BIN at it")]
    BinaryNotFound {
        /// The binary name or path tried.
        binary: String,
    },
    /// The agent binary exists but cannot be run (a directory, or no execute permission).
    #[error("the agent binary `{binary}` {reason}: point --claude-bin / LULU_CLAUDE_BIN at the Claude Code CLI")]
    BinaryNotRunnable {
        /// The binary name or path tried.
        binary: String,
        /// What is wrong with it: `is a directory`, `is not executable`.
        reason: String,
    },
    /// The working directory exists but cannot be entered or read.
    #[error("the working directory `{cwd}` cannot be used: {message}")]
    WorkingDirUnusable {
        /// The directory.
        cwd: String,
        /// The operating system's reason.
        message: String,
    },
    /// The working directory does not exist or is not a directory.
    #[error("the working directory `{cwd}` does not exist or is not a directory")]
    WorkingDirMissing {
        /// The directory.
        cwd: String,
    },
    /// Spawning failed for another reason.
    #[error("could not start the agent `{binary}`: {message}")]
    SpawnFailed {
        /// The binary.
        binary: String,
        /// The operating system's reason.
        message: String,
    },
}

/// Why a stop request could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StopError {
    /// The run had already exited; nothing to stop.
    #[error("the run has already exited")]
    AlreadyExited,
    /// The request could not be delivered.
    #[error("could not stop the run: {message}")]
    Failed {
        /// The reason.
        message: String,
    },
}

/// Starts agent runs.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AgentLauncher: Send + Sync {
    /// Spawns the agent for `spec` and returns once the process exists.
    ///
    /// # Errors
    /// [`LaunchError`] when nothing could be started (missing binary or directory, spawn
    /// failure). A run that starts and then fails is reported through its updates instead.
    async fn launch(&self, spec: RunSpec) -> Result<RunHandle, LaunchError>;
}

/// Stops one live run, and answers its permission requests.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RunControl: Send + Sync {
    /// Delivers a stop request and returns without waiting for the exit, which arrives
    /// through the run's updates.
    ///
    /// # Errors
    /// [`StopError::AlreadyExited`] if the run is gone (harmless); [`StopError::Failed`] if
    /// the request could not be delivered.
    async fn stop(&self, mode: StopMode) -> Result<(), StopError>;

    /// Delivers the answer to a pending permission request and returns at once.
    ///
    /// # Errors
    /// [`StopError::AlreadyExited`] if the run is gone; [`StopError::Failed`] if the answer
    /// could not be delivered (the agent's stdin is closed).
    async fn answer(
        &self,
        request: &ApprovalRequest,
        answer: &ApprovalAnswer,
    ) -> Result<(), StopError>;

    /// Writes a follow-up user message on the run's stdin and returns once it was handed
    /// to the writer.
    ///
    /// # Errors
    /// [`StopError::AlreadyExited`] if the run is gone; [`StopError::Failed`] if its stdin
    /// is closed (its turn has ended and the run is finishing).
    async fn send(&self, text: &str) -> Result<(), StopError>;

    /// Closes the run's stdin (a kept-open run then ends after its turn) and returns at once.
    ///
    /// # Errors
    /// [`StopError::AlreadyExited`] if the run is gone.
    async fn close_input(&self) -> Result<(), StopError>;
}
