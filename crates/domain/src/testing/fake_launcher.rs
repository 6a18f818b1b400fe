//! A launcher whose runs the test drives by hand.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::{lock, Journal};
use crate::agent::{RunExit, RunUpdate};
use crate::approval::{ApprovalAnswer, ApprovalRequest};
use crate::lifecycle::{ConversationMode, StopMode};
use crate::ports::{AgentLauncher, LaunchError, RunControl, RunHandle, RunSpec, StopError};
use crate::session::RunOutcome;

/// How a [`FakeLauncher`]'s runs answer stop requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopResponse {
    /// A graceful stop ends the run (exit code 0, interrupted).
    ExitOnGraceful,
    /// Only a forceful stop ends the run (exit code 137, interrupted).
    ExitOnForceful,
    /// No stop ever takes effect.
    Never,
}

/// A [`AgentLauncher`] whose runs the test drives by hand through [`FakeRun`]s.
#[derive(Debug, Clone)]
pub struct FakeLauncher {
    launched: mpsc::UnboundedSender<FakeRun>,
    stop_response: StopResponse,
    failure: Option<LaunchError>,
    journal: Journal,
    next_pid: Arc<Mutex<u32>>,
}

/// One launched fake run: emit events and end it from the test.
#[derive(Debug, Clone)]
pub struct FakeRun {
    /// What the supervisor asked to launch.
    pub spec: RunSpec,
    /// Its fake process id.
    pub pid: u32,
    updates: mpsc::Sender<RunUpdate>,
    stops: Arc<Mutex<Vec<StopMode>>>,
    answers: Arc<Mutex<Vec<(String, ApprovalAnswer)>>>,
}

impl FakeRun {
    /// Emits one agent event.
    pub async fn emit(&self, event: crate::agent::AgentEvent) {
        let _ = self.updates.send(RunUpdate::Event(event)).await;
    }

    /// Ends the run.
    pub async fn exit(&self, outcome: RunOutcome, exit_code: i32) {
        let exit = RunExit {
            outcome,
            exit_code: Some(exit_code),
        };
        let _ = self.updates.send(RunUpdate::Exited(exit)).await;
    }

    /// The permission answers received so far (request id, answer), in order.
    pub fn answers(&self) -> Vec<(String, ApprovalAnswer)> {
        lock(&self.answers).clone()
    }

    /// The stop requests received so far, in order.
    pub fn stops(&self) -> Vec<StopMode> {
        lock(&self.stops).clone()
    }
}

impl FakeLauncher {
    /// A launcher whose runs answer stops per `stop_response`; launched runs arrive on the receiver.
    pub fn new(
        stop_response: StopResponse,
        journal: Journal,
    ) -> (Self, mpsc::UnboundedReceiver<FakeRun>) {
        let (launched, receiver) = mpsc::unbounded_channel();
        let launcher = Self {
            launched,
            stop_response,
            failure: None,
            journal,
            next_pid: Arc::new(Mutex::new(100)),
        };
        (launcher, receiver)
    }

    /// Makes every launch fail with `error`.
    #[must_use]
    pub fn failing_with(mut self, error: LaunchError) -> Self {
        self.failure = Some(error);
        self
    }
}

#[async_trait]
impl AgentLauncher for FakeLauncher {
    async fn launch(&self, spec: RunSpec) -> Result<RunHandle, LaunchError> {
        let mode = match spec.mode {
            ConversationMode::New => "--session-id",
            ConversationMode::Resume => "--resume",
        };
        self.journal.record(format!(
            "launch  run {} {mode} {} in {}",
            spec.run_id.short(),
            spec.session_id.short(),
            spec.cwd
        ));
        if let Some(error) = &self.failure {
            return Err(error.clone());
        }
        let pid = {
            let mut next = lock(&self.next_pid);
            *next += 1;
            *next
        };
        let (updates, receiver) = mpsc::channel(64);
        let stops = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(Vec::new()));
        let control = FakeControl {
            updates: updates.downgrade(),
            stops: Arc::clone(&stops),
            answers: Arc::clone(&answers),
            response: self.stop_response,
            journal: self.journal.clone(),
        };
        let run = FakeRun {
            spec,
            pid,
            updates,
            stops,
            answers,
        };
        let _ = self.launched.send(run);
        Ok(RunHandle {
            pid,
            updates: receiver,
            control: Arc::new(control),
        })
    }
}

struct FakeControl {
    // Weak, like a real process's stop handle: it must not keep the output stream open.
    updates: mpsc::WeakSender<RunUpdate>,
    stops: Arc<Mutex<Vec<StopMode>>>,
    response: StopResponse,
    journal: Journal,
    answers: Arc<Mutex<Vec<(String, ApprovalAnswer)>>>,
}

#[async_trait]
impl RunControl for FakeControl {
    async fn stop(&self, mode: StopMode) -> Result<(), StopError> {
        self.journal
            .record(format!("stop    {mode:?}").to_lowercase());
        lock(&self.stops).push(mode);
        let exit_code = match (self.response, mode) {
            (StopResponse::ExitOnGraceful, StopMode::Graceful) => 0,
            (StopResponse::ExitOnGraceful | StopResponse::ExitOnForceful, StopMode::Forceful) => {
                137
            }
            (StopResponse::ExitOnForceful | StopResponse::Never, StopMode::Graceful)
            | (StopResponse::Never, StopMode::Forceful) => return Ok(()),
        };
        let exit = RunExit {
            outcome: RunOutcome::Interrupted,
            exit_code: Some(exit_code),
        };
        let updates = self.updates.upgrade().ok_or(StopError::AlreadyExited)?;
        updates
            .send(RunUpdate::Exited(exit))
            .await
            .map_err(|_| StopError::AlreadyExited)
    }

    async fn answer(
        &self,
        request: &ApprovalRequest,
        answer: &ApprovalAnswer,
    ) -> Result<(), StopError> {
        self.journal
            .record(format!("answer  {} {answer}", request.request_id));
        lock(&self.answers).push((request.request_id.clone(), answer.clone()));
        Ok(())
    }

    async fn close_input(&self) -> Result<(), StopError> {
        self.journal.record("close   stdin");
        let updates = self.updates.upgrade().ok_or(StopError::AlreadyExited)?;
        let exit = RunExit {
            outcome: RunOutcome::Completed,
            exit_code: Some(0),
        };
        updates
            .send(RunUpdate::Exited(exit))
            .await
            .map_err(|_| StopError::AlreadyExited)
    }

    async fn send(&self, text: &str) -> Result<(), StopError> {
        self.journal.record(format!("send    {text}"));
        let updates = self.updates.upgrade().ok_or(StopError::AlreadyExited)?;
        updates
            .send(RunUpdate::Event(crate::agent::AgentEvent::UserMessage {
                text: text.to_owned(),
            }))
            .await
            .map_err(|_| StopError::AlreadyExited)
    }
}
