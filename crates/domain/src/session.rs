//! The session: one conversation with an agent, kept across any number of runs.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::approval::ApprovalRequest;
use crate::ids::{RunId, SessionId};
use crate::input::{AgentOptions, Prompt, SessionTitle, WorkingDir};

/// Where a session is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    /// Waiting for a free run slot.
    Queued,
    /// The agent process is being spawned.
    Starting,
    /// The agent process is alive.
    Running,
    /// The agent is alive and waits for the user to answer a permission request.
    #[serde(rename = "needs_approval")]
    NeedsApproval,
    /// A kept-open run finished its turn and waits for a follow-up.
    Idle,
    /// A stop was requested and the run has not exited yet.
    Interrupting,
    /// The last run was stopped on request (or its owner died); it can be resumed.
    Interrupted,
    /// The last run finished its turn; it can be resumed with a follow-up.
    Completed,
    /// The last run failed; it can be resumed.
    Failed,
}

impl SessionStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [Self; 9] = [
        Self::Queued,
        Self::Starting,
        Self::Running,
        Self::NeedsApproval,
        Self::Idle,
        Self::Interrupting,
        Self::Interrupted,
        Self::Completed,
        Self::Failed,
    ];

    /// The words shown to people: `needs approval` rather than `needs_approval`.
    pub fn label(self) -> String {
        self.as_str().replace('_', " ")
    }

    /// The lowercase word used in storage, JSON and the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Starting => "starting",
            Self::Running => "running",
            Self::NeedsApproval => "needs_approval",
            Self::Idle => "idle",
            Self::Interrupting => "interrupting",
            Self::Interrupted => "interrupted",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// True while a run is queued or alive: the session has an owner that must not be ignored.
    pub const fn is_live(self) -> bool {
        match self {
            Self::Queued
            | Self::Starting
            | Self::Running
            | Self::NeedsApproval
            | Self::Idle
            | Self::Interrupting => true,
            Self::Interrupted | Self::Completed | Self::Failed => false,
        }
    }
}

impl fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when text names no status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a session status: use one of queued, starting, running, needs_approval, idle, interrupting, interrupted, completed, failed")]
pub struct UnknownStatus(pub String);

impl FromStr for SessionStatus {
    type Err = UnknownStatus;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // The stored word as it is (every row read back), before any normalising.
        if let Some(status) = Self::ALL.into_iter().find(|status| status.as_str() == text) {
            return Ok(status);
        }
        let word = text.trim().replace([' ', '-'], "_");
        Self::ALL
            .into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(&word))
            .ok_or_else(|| UnknownStatus(text.to_owned()))
    }
}

/// Cost and usage summed over every run of a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageTotals {
    /// Total cost in US dollars, as reported by the agent.
    pub cost_usd: f64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Agent turns.
    pub num_turns: u64,
    /// Tool calls refused because they needed approval.
    #[serde(default)]
    pub permission_denials: u64,
}

impl UsageTotals {
    /// Adds one run's figures.
    #[must_use]
    pub fn plus(self, run: &RunUsage) -> Self {
        Self {
            cost_usd: self.cost_usd + run.cost_usd,
            input_tokens: self.input_tokens + run.input_tokens,
            output_tokens: self.output_tokens + run.output_tokens,
            num_turns: self.num_turns + run.num_turns,
            permission_denials: self.permission_denials + run.permission_denials,
        }
    }
}

/// What one run's `result` line reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunUsage {
    /// `total_cost_usd`.
    pub cost_usd: f64,
    /// `usage.input_tokens` (plus cache tokens, if the adapter counts them).
    pub input_tokens: u64,
    /// `usage.output_tokens`.
    pub output_tokens: u64,
    /// `num_turns`.
    pub num_turns: u64,
    /// `duration_ms`.
    pub duration_ms: u64,
    /// How many tool calls were refused (`permission_denials[]`).
    #[serde(default)]
    pub permission_denials: u64,
}

impl RunUsage {
    /// The figures of two turns of one run together.
    #[must_use]
    pub fn and(&self, later: &Self) -> Self {
        Self {
            cost_usd: self.cost_usd + later.cost_usd,
            input_tokens: self.input_tokens + later.input_tokens,
            output_tokens: self.output_tokens + later.output_tokens,
            num_turns: self.num_turns + later.num_turns,
            duration_ms: self.duration_ms + later.duration_ms,
            permission_denials: self.permission_denials + later.permission_denials,
        }
    }
}

/// What a user asks for when starting a session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSpec {
    /// Dashboard title; derived from the prompt when absent.
    pub title: Option<SessionTitle>,
    /// Directory the agent runs in.
    pub cwd: WorkingDir,
    /// The first prompt.
    pub prompt: Prompt,
    /// Options passed through to the agent.
    pub options: AgentOptions,
}

/// A session as stored and shown: one row, kept across runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Also the agent's conversation id.
    pub id: SessionId,
    /// Dashboard title.
    pub title: SessionTitle,
    /// Directory every run of this session uses (resume only works from it).
    pub cwd: WorkingDir,
    /// The first prompt.
    pub prompt: Prompt,
    /// Options passed to the agent on every run.
    pub options: AgentOptions,
    /// Lifecycle position.
    pub status: SessionStatus,
    /// When the session was created.
    pub created_at: DateTime<Utc>,
    /// When anything about it last changed.
    pub updated_at: DateTime<Utc>,
    /// How many times it was resumed.
    pub resume_count: u32,
    /// The latest run: the live one, or the last one that ran.
    pub active_run_id: Option<RunId>,
    /// When it was last resumed.
    pub last_resume_at: Option<DateTime<Utc>>,
    /// Why the last run failed or an operation did not succeed.
    pub last_error: Option<String>,
    /// True once the agent reported its conversation (`system/init`): later runs use `--resume`.
    pub agent_established: bool,
    /// Cost and usage over all runs.
    pub totals: UsageTotals,
    /// Transcript lines the agent wrote that could not be stored (the database or disk was
    /// full), over all runs. Zero for a complete transcript.
    pub lost_events: u64,
    /// Permission requests of the live run waiting for an answer, oldest first (the
    /// session is `needs_approval` while there is one, unless it is being interrupted).
    #[serde(default)]
    pub pending_approvals: Vec<ApprovalRequest>,
}

impl Session {
    /// A new session, queued, with its first run (not yet launched).
    pub fn queued(
        id: SessionId,
        run_id: RunId,
        spec: SessionSpec,
        now: DateTime<Utc>,
    ) -> (Self, Run) {
        let title = spec
            .title
            .unwrap_or_else(|| SessionTitle::from_prompt(&spec.prompt));
        let run = Run::requested(
            run_id,
            id,
            RunKind::Start,
            spec.prompt.clone(),
            spec.options.clone(),
            now,
        );
        let session = Self {
            id,
            title,
            cwd: spec.cwd,
            prompt: spec.prompt,
            options: spec.options,
            status: SessionStatus::Queued,
            created_at: now,
            updated_at: now,
            resume_count: 0,
            active_run_id: Some(run_id),
            last_resume_at: None,
            last_error: None,
            agent_established: false,
            totals: UsageTotals::default(),
            lost_events: 0,
            pending_approvals: Vec::new(),
        };
        (session, run)
    }
}

/// Whether a run began the conversation or continued it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// The session's first run.
    Start,
    /// A follow-up run of an existing session.
    Resume,
}

impl RunKind {
    /// The lowercase word used in storage and output.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Resume => "resume",
        }
    }
}

/// Why a run failed, in the categories the supervisor and the user act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// `--resume` of a conversation the CLI has no transcript for (gone, or another cwd).
    ConversationNotFound,
    /// A fresh start of an id that already has a transcript.
    SessionIdInUse,
    /// The CLI refused its arguments.
    InvalidArguments,
    /// The API answered with an error (`is_error: true`).
    ApiError,
    /// The process died by a signal or ended without a result line.
    Crashed,
    /// The process could not be started at all.
    LaunchFailed,
}

impl FailureKind {
    /// The snake-case word used in storage and output.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ConversationNotFound => "conversation_not_found",
            Self::SessionIdInUse => "session_id_in_use",
            Self::InvalidArguments => "invalid_arguments",
            Self::ApiError => "api_error",
            Self::Crashed => "crashed",
            Self::LaunchFailed => "launch_failed",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RunOutcome {
    /// The turn finished.
    Completed,
    /// The run was stopped on request, or by recovery after its owner died.
    Interrupted,
    /// The run failed.
    Failed {
        /// The category to act on.
        kind: FailureKind,
        /// What the agent or the system said.
        message: String,
    },
}

impl RunOutcome {
    /// A short word for tables: `completed`, `interrupted`, or the failure kind.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Interrupted => "interrupted",
            Self::Failed { kind, .. } => kind.as_str(),
        }
    }
}

/// One process execution of a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Run id.
    pub id: RunId,
    /// The session it belongs to.
    pub session_id: SessionId,
    /// Start or resume.
    pub kind: RunKind,
    /// The prompt sent in this run.
    pub prompt: Prompt,
    /// The agent's process id once spawned.
    pub pid: Option<u32>,
    /// When the run was requested.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// How it ended.
    pub outcome: Option<RunOutcome>,
    /// The process exit code (`128 + n` for death by signal `n`).
    pub exit_code: Option<i32>,
    /// The options this run was launched with: the session's, with a resume's overrides.
    #[serde(default)]
    pub options: AgentOptions,
    /// The model the agent said it runs (its first `system/init` of the run).
    #[serde(default)]
    pub model: Option<String>,
    /// The Claude Code CLI version the agent said it is (same line).
    #[serde(default)]
    pub cli_version: Option<String>,
}

impl Run {
    /// A run that has been requested but not launched.
    pub fn requested(
        id: RunId,
        session_id: SessionId,
        kind: RunKind,
        prompt: Prompt,
        options: AgentOptions,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            session_id,
            kind,
            prompt,
            pid: None,
            started_at: now,
            ended_at: None,
            outcome: None,
            exit_code: None,
            options,
            model: None,
            cli_version: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words_round_trip() {
        for status in SessionStatus::ALL {
            assert_eq!(status.as_str().parse::<SessionStatus>(), Ok(status));
        }
        assert_eq!(
            "needs approval".parse::<SessionStatus>(),
            Ok(SessionStatus::NeedsApproval)
        );
        assert!("paused"
            .parse::<SessionStatus>()
            .unwrap_err()
            .to_string()
            .contains("`paused`"));
    }
}
