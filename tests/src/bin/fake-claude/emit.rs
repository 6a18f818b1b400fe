//! The stream-json lines, in the real CLI's shapes, written and flushed one at a time.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU32};

use serde_json::{json, Value};
use uuid::Uuid;

/// Cost reported per API turn, in US dollars.
pub const COST_PER_TURN: f64 = 0.0125;

/// Writes the session's output lines.
#[derive(Debug)]
pub struct Out {
    /// The conversation id every line carries.
    pub session_id: String,
    /// Print every line (stream-json output) or keep quiet (text and json output).
    pub streaming: bool,
    /// Also print `stream_event` partials.
    pub partials: bool,
    /// The index of the content block being written (partials only).
    pub block: AtomicU32,
    /// Whether an API message is open (partials only).
    pub message_open: AtomicBool,
}

impl Out {
    /// Output for `session_id`.
    pub fn new(session_id: String, streaming: bool, partials: bool) -> Self {
        Self {
            session_id,
            streaming,
            partials,
            block: AtomicU32::new(0),
            message_open: AtomicBool::new(false),
        }
    }

    /// Writes one line (a JSON value) and flushes it.
    pub fn line(&self, value: &Value) {
        if self.streaming {
            Self::raw(&value.to_string());
        }
    }

    /// Writes one raw line as it is, even if it is not JSON.
    pub fn raw(text: &str) {
        let mut stdout = std::io::stdout().lock();
        // A reader that went away is not the fake's problem: the turn goes on, like the CLI's.
        let written = stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.write_all(b"\n"))
            .and_then(|()| stdout.flush());
        if written.is_ok() {
            crate::emitted::record(text);
        }
    }

    /// `system/init`.
    pub fn init(&self, cwd: &str, model: &str) {
        self.line(&json!({
            "type": "system", "subtype": "init", "cwd": cwd, "session_id": self.session_id,
            "tools": ["Task", "Bash", "Edit", "Read"], "mcp_servers": [], "model": model,
            "permissionMode": "default", "slash_commands": [], "apiKeySource": "none",
            "claude_code_version": "2.1.197", "output_style": "default", "agents": [],
            "skills": [], "plugins": [], "uuid": new_uuid(), "fast_mode_state": "off",
        }));
    }

    /// An `assistant` line holding one content block of message `message_id`.
    pub fn assistant(&self, message_id: &str, model: &str, block: &Value) -> Value {
        let line = json!({
            "type": "assistant",
            "message": {
                "id": message_id, "type": "message", "role": "assistant", "model": model,
                "content": [block], "stop_reason": null, "stop_sequence": null,
                "usage": usage(), "context_management": null,
            },
            "parent_tool_use_id": null, "session_id": self.session_id, "uuid": new_uuid(),
            "request_id": format!("req_{}", Uuid::new_v4().simple()),
        });
        self.line(&line);
        line
    }

    /// A `user` line holding `content` (text blocks or tool results).
    pub fn user(&self, content: &Value, tool_use_result: Option<Value>) -> Value {
        let mut line = json!({
            "type": "user",
            "message": { "role": "user", "content": content },
            "parent_tool_use_id": null, "session_id": self.session_id, "uuid": new_uuid(),
        });
        if let Some(result) = tool_use_result {
            line["tool_use_result"] = result;
        }
        self.line(&line);
        line
    }

    /// A `stream_event` partial (only with `--include-partial-messages`).
    pub fn partial(&self, event: &Value) {
        if self.partials {
            self.line(&json!({
                "type": "stream_event", "event": event, "session_id": self.session_id,
                "parent_tool_use_id": null, "uuid": new_uuid(),
            }));
        }
    }

    /// The `control_cancel_request` withdrawing a pending permission request.
    pub fn control_cancel(&self, request_id: &str) {
        self.line(&json!({"type": "control_cancel_request", "request_id": request_id}));
    }

    /// The `control_response` to a control request.
    pub fn control_response(&self, request_id: &str) {
        self.line(&json!({
            "type": "control_response",
            "response": { "subtype": "success", "request_id": request_id },
        }));
    }
}

/// The fields of a `result` line that vary.
#[derive(Debug, Clone, Default)]
pub struct ResultLine {
    /// `subtype`.
    pub subtype: &'static str,
    /// `is_error`.
    pub is_error: bool,
    /// `result` (success only).
    pub text: Option<String>,
    /// `errors[]` (omitted when empty).
    pub errors: Vec<String>,
    /// `num_turns`.
    pub num_turns: u32,
    /// `stop_reason`.
    pub stop_reason: Option<&'static str>,
    /// `terminal_reason` (omitted when `None`).
    pub terminal_reason: Option<&'static str>,
    /// `api_error_status`.
    pub api_error_status: Option<u16>,
    /// `duration_ms`.
    pub duration_ms: u64,
    /// `permission_denials[]`: tool calls refused for want of approval.
    pub permission_denials: Vec<Value>,
}

impl ResultLine {
    /// The JSON line for `session_id`.
    pub fn to_json(&self, session_id: &str) -> Value {
        let api_turns = f64::from(self.num_turns);
        let mut line = json!({
            "type": "result", "subtype": self.subtype, "is_error": self.is_error,
            "api_error_status": self.api_error_status, "duration_ms": self.duration_ms,
            "duration_api_ms": self.duration_ms / 2, "num_turns": self.num_turns,
            "stop_reason": self.stop_reason, "session_id": session_id,
            "total_cost_usd": COST_PER_TURN * api_turns, "usage": usage(),
            "modelUsage": {}, "permission_denials": self.permission_denials, "fast_mode_state": "off",
            "uuid": new_uuid(),
        });
        if let Some(text) = &self.text {
            line["result"] = json!(text);
        }
        if let Some(reason) = self.terminal_reason {
            line["terminal_reason"] = json!(reason);
        }
        if !self.errors.is_empty() {
            line["errors"] = json!(self.errors);
        }
        line
    }
}

/// Token usage, fixed so tests can check it.
pub fn usage() -> Value {
    json!({
        "input_tokens": 12, "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 1000, "output_tokens": 7,
        "server_tool_use": { "web_search_requests": 0 }, "service_tier": "standard",
    })
}

/// A fresh random UUID as text.
pub fn new_uuid() -> String {
    Uuid::new_v4().to_string()
}

/// A fresh API message id.
pub fn new_message_id() -> String {
    format!("msg_{}", Uuid::new_v4().simple())
}
