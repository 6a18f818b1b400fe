//! What commands take and return, shaped for the UI. Sessions, runs and transcript
//! entries travel as the runtime's own serde forms.

use serde::{Deserialize, Serialize};

use lulu_domain::{AgentEvent, Run, RunId, Session, SessionId, TranscriptEntry};
use lulu_runtime::protocol::{Change, FollowEvent};

/// The new-session form as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StartInput {
    /// The prompt (multi-line).
    pub prompt: String,
    /// The working directory: an absolute path.
    pub cwd: String,
    /// Optional title; blank means "derive one from the prompt".
    pub title: Option<String>,
    /// `--model`; blank means the agent's default.
    pub model: Option<String>,
    /// `--permission-mode`; blank means the agent's default.
    pub permission_mode: Option<String>,
    /// `--allowedTools` patterns.
    pub allowed_tools: Vec<String>,
}

/// A session with its run history, oldest run first.
#[derive(Debug, Clone, Serialize)]
pub struct SessionDetailsView {
    /// The session.
    pub session: Session,
    /// Its runs.
    pub runs: Vec<Run>,
}

/// One page of a run's transcript.
#[derive(Debug, Clone, Serialize)]
pub struct TranscriptPage {
    /// The run.
    pub run_id: RunId,
    /// Entries after the requested `seq`, in `seq` order.
    pub entries: Vec<TranscriptEntry>,
    /// The run's highest stored `seq` now (`None` when it has no entry yet).
    pub last_seq: Option<u64>,
}

/// What the settings panel and the form's defaults show.
#[derive(Debug, Clone, Serialize)]
pub struct SettingsView {
    /// The session database (`LULU_DB`, shared with `lulu`).
    pub db_path: String,
    /// The agent binary (`LULU_CLAUDE_BIN`).
    pub claude_bin: String,
    /// Live runs allowed at once (`LULU_MAX_RUNNING`).
    pub max_running: usize,
    /// The daemon's socket.
    pub daemon_socket: String,
    /// The daemon's log.
    pub daemon_log: String,
    /// The daemon's pid if one answers now.
    pub daemon_pid: Option<u32>,
    /// Working directories of recent sessions, most recent first, without repeats.
    pub recent_dirs: Vec<String>,
    /// The user's home directory, the form's default directory.
    pub home: Option<String>,
    /// How this app was built: `"release"` or `"debug"` (what `desktop-bench` measured).
    pub build: &'static str,
}

/// The outcome of "Stop all sessions".
#[derive(Debug, Clone, Serialize)]
pub struct StopAllOutcome {
    /// Sessions now interrupted.
    pub interrupted: Vec<SessionId>,
    /// Sessions that could not be interrupted, with why.
    pub failed: Vec<StopFailure>,
}

/// One session "Stop all" could not interrupt.
#[derive(Debug, Clone, Serialize)]
pub struct StopFailure {
    /// The session.
    pub id: SessionId,
    /// Why.
    pub message: String,
}

/// What the dashboard's watch channel carries.
#[allow(clippy::large_enum_variant)] // one per message, never stored in bulk
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WatchMessage {
    /// Connected to the daemon: read the sessions again (changes may have been missed).
    Connected,
    /// A change the daemon made.
    Change {
        /// The change.
        change: Change,
    },
    /// Changes that came in a burst, in order.
    Changes {
        /// The changes.
        changes: Vec<Change>,
    },
    /// What a live session is doing now, from its newest transcript entry.
    Activity {
        /// The session.
        session_id: SessionId,
        /// In words (`writing`, a tool's name, …); `None` when there is nothing to tell.
        activity: Option<String>,
    },
    /// The daemon went away; the app reconnects (and starts one) by itself.
    Disconnected {
        /// Why, in words.
        message: String,
    },
    /// Open this session (the user came back after a notification about it).
    Open {
        /// The session.
        session_id: SessionId,
    },
}

/// What a session view's follow channel carries.
#[allow(clippy::large_enum_variant)] // one per message, never stored in bulk
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FollowMessage {
    /// One event of the followed session, as the daemon sent it.
    Event {
        /// The event.
        event: FollowEvent,
    },
    /// The stream ended (settled, the daemon went, or an error); `error` says why if not settled.
    Closed {
        /// Why it ended early, if it did.
        error: Option<String>,
    },
}

/// What a session is doing, as its newest transcript entry tells.
pub fn activity(event: &AgentEvent) -> Option<String> {
    match event {
        AgentEvent::Init { .. } => Some("starting".to_owned()),
        AgentEvent::AssistantText { .. } => Some("writing".to_owned()),
        AgentEvent::Thinking { .. } => Some("thinking".to_owned()),
        AgentEvent::ToolUse { name, .. } => Some(name.clone()),
        AgentEvent::ToolResult { .. }
        | AgentEvent::UserText { .. }
        | AgentEvent::UserMessage { .. }
        | AgentEvent::PermissionDenied { .. }
        | AgentEvent::PermissionCancelled { .. } => Some("waiting for the model".to_owned()),
        AgentEvent::PermissionRequest { tool_name, .. } => {
            Some(format!("needs approval: {tool_name}"))
        }
        AgentEvent::ApiRetry {
            attempt,
            max_retries,
            ..
        } => Some(format!("retrying the API ({attempt}/{max_retries})")),
        AgentEvent::Result { .. } | AgentEvent::Other { .. } | AgentEvent::Diagnostic { .. } => {
            None
        }
    }
}
