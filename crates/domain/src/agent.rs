//! What an agent run reports: its transcript events and how it exited.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::RunId;
use crate::session::{RunOutcome, RunUsage};

/// One thing the agent emitted, parsed from its output stream.
///
/// JSON payloads (tool inputs, unknown lines) are kept as JSON text so the domain
/// needs no JSON library and nothing the agent said is lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AgentEvent {
    /// `system/init`: the conversation is established.
    Init {
        /// Model in use.
        model: String,
        /// The agent's working directory.
        cwd: String,
        /// CLI version.
        version: String,
        /// Tools offered to the model.
        tools: Vec<String>,
    },
    /// Assistant text (one content block).
    AssistantText {
        /// The text.
        text: String,
    },
    /// Assistant thinking (one content block).
    Thinking {
        /// The thinking text.
        text: String,
    },
    /// The assistant called a tool.
    ToolUse {
        /// Tool call id.
        id: String,
        /// Tool name.
        name: String,
        /// The tool input as JSON text.
        input_json: String,
    },
    /// A tool's result came back.
    ToolResult {
        /// The call it answers.
        tool_use_id: String,
        /// The result text.
        content: String,
        /// True when the tool failed or was rejected.
        is_error: bool,
    },
    /// User text inside the stream (e.g. `[Request interrupted by user]`).
    UserText {
        /// The text.
        text: String,
    },
    /// `system/api_retry`: the CLI is retrying an API call.
    ApiRetry {
        /// Attempt number.
        attempt: u32,
        /// Retries allowed.
        max_retries: u32,
        /// Delay before the retry.
        retry_delay_ms: u64,
        /// HTTP status, if any.
        error_status: Option<u16>,
        /// Error text.
        error: String,
    },
    /// The turn's `result` line.
    Result {
        /// `subtype`.
        subtype: String,
        /// `is_error`: the error flag.
        is_error: bool,
        /// Final text, on success.
        text: Option<String>,
        /// `errors[]`.
        errors: Vec<String>,
        /// `terminal_reason`, if reported.
        terminal_reason: Option<String>,
        /// Cost and usage.
        usage: RunUsage,
        /// Tool calls the agent was not allowed to make (`permission_denials[]`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        permission_denials: Vec<PermissionDenial>,
    },
    /// `system/permission_denied` (newer CLIs): a tool call was refused as it happened.
    PermissionDenied {
        /// The tool refused.
        tool_name: String,
        /// The refused call.
        tool_use_id: String,
        /// The CLI's words (e.g. `touch in '/srv/app/notes.md' needs approval.`).
        message: String,
    },
    /// A follow-up the user sent to the live run (written on its stdin; the agent does not
    /// echo it, so Lulu records it where it was sent).
    UserMessage {
        /// The message.
        text: String,
    },
    /// The agent asks permission for a tool call (a `can_use_tool` control request).
    PermissionRequest {
        /// The request's id (what the answer names).
        request_id: String,
        /// The tool, e.g. `Bash`.
        tool_name: String,
        /// The tool input as JSON text.
        input_json: String,
        /// What the call does, in the agent's words.
        description: Option<String>,
        /// The path that made it need permission.
        blocked_path: Option<String>,
        /// `permission_suggestions` as JSON text.
        suggestions_json: Option<String>,
    },
    /// The agent withdrew a permission request (`control_cancel_request`).
    PermissionCancelled {
        /// The withdrawn request's id.
        request_id: String,
    },
    /// A line Lulu does not interpret, kept as it came.
    Other {
        /// The line's `type` (and `subtype`), if it had one.
        type_name: String,
        /// The raw JSON line.
        raw_json: String,
    },
    /// Something about the stream itself: a malformed or oversized line, a stderr tail.
    Diagnostic {
        /// What happened, in plain words.
        message: String,
    },
}

impl AgentEvent {
    /// The snake-case kind word used in storage.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Init { .. } => "init",
            Self::AssistantText { .. } => "assistant_text",
            Self::Thinking { .. } => "thinking",
            Self::ToolUse { .. } => "tool_use",
            Self::ToolResult { .. } => "tool_result",
            Self::UserText { .. } => "user_text",
            Self::ApiRetry { .. } => "api_retry",
            Self::Result { .. } => "result",
            Self::UserMessage { .. } => "user_message",
            Self::PermissionRequest { .. } => "permission_request",
            Self::PermissionCancelled { .. } => "permission_cancelled",
            Self::PermissionDenied { .. } => "permission_denied",
            Self::Other { .. } => "other",
            Self::Diagnostic { .. } => "diagnostic",
        }
    }
}

/// A tool call the agent was refused because it needed the user's approval, as the
/// `result` line lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionDenial {
    /// The tool (`Bash`, `Edit`, …).
    pub tool_name: String,
    /// The refused call.
    pub tool_use_id: String,
    /// The call's input as JSON text.
    pub input_json: String,
}

/// One stored transcript line: an event with its run, position and time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptEntry {
    /// The run that emitted it.
    pub run_id: RunId,
    /// Position within the run, from 0, without gaps.
    pub seq: u64,
    /// When Lulu received it.
    pub at: DateTime<Utc>,
    /// The event.
    pub event: AgentEvent,
}

/// What a run's agent said it is: the model and the Claude Code CLI version of its
/// `system/init` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportedAgent<'a> {
    /// The run.
    pub run_id: RunId,
    /// The `init` line's position in the run.
    pub seq: u64,
    /// The model.
    pub model: &'a str,
    /// The CLI version.
    pub cli_version: &'a str,
}

impl<'a> ReportedAgent<'a> {
    /// For each run with an `init` line in `entries`, its first one, in order: what a
    /// store records on the run (unless it recorded one already).
    pub fn first_of_each_run(entries: &'a [TranscriptEntry]) -> Vec<Self> {
        let mut reported: Vec<Self> = Vec::new();
        for entry in entries {
            if let AgentEvent::Init { model, version, .. } = &entry.event {
                if !reported.iter().any(|seen| seen.run_id == entry.run_id) {
                    reported.push(Self {
                        run_id: entry.run_id,
                        seq: entry.seq,
                        model,
                        cli_version: version,
                    });
                }
            }
        }
        reported
    }
}

/// How an agent process ended, as the launcher observed and classified it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunExit {
    /// The classified outcome.
    pub outcome: RunOutcome,
    /// Exit code, or `128 + n` after death by signal `n`.
    pub exit_code: Option<i32>,
}

/// What a run handle delivers, in order: events, then exactly one exit.
#[derive(Debug, Clone, PartialEq)]
pub enum RunUpdate {
    /// The agent emitted an event.
    Event(AgentEvent),
    /// Text of the reply being written, as it streams (`--include-partial-messages`).
    /// Shown live, never stored: the complete block follows as an [`AgentEvent`].
    TextDelta(String),
    /// The process ended and was reaped; nothing follows.
    Exited(RunExit),
}
