//! Permission requests: a tool call the agent may only make once the user allows it.
//!
//! The agent asks (a `can_use_tool` control request); the session then **needs approval**
//! until the request is answered, cancelled by the agent, or cleared by the turn's end.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One pending permission request of a live run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    /// The agent's id for the request (what the answer must name).
    pub request_id: String,
    /// The tool asking, e.g. `Bash`.
    pub tool_name: String,
    /// The tool input as JSON text (sent back unchanged as `updatedInput` on an allow).
    pub input_json: String,
    /// What the tool call does, in the agent's words, if it said.
    pub description: Option<String>,
    /// The path that made the call need permission, if one did.
    pub blocked_path: Option<String>,
    /// The agent's `permission_suggestions` as JSON text, if any.
    pub suggestions_json: Option<String>,
    /// When Lulu received it.
    pub requested_at: DateTime<Utc>,
}

impl ApprovalRequest {
    /// What is asked, in one line: `Bash: touch notes.md` (the tool and its main argument).
    pub fn summary(&self) -> String {
        match main_argument(&self.input_json) {
            Some(argument) => format!("{}: {argument}", self.tool_name),
            None => self.tool_name.clone(),
        }
    }
}

/// The input field that says best what a tool call does (`command`, `file_path`, …).
fn main_argument(input_json: &str) -> Option<String> {
    const KEYS: [&str; 5] = ["command", "file_path", "path", "url", "pattern"];
    KEYS.iter()
        .find_map(|key| json_string_field(input_json, key))
}

/// A top-level string field of a flat JSON object, unescaped (enough for a one-line summary;
/// the domain has no JSON library).
fn json_string_field(json: &str, key: &str) -> Option<String> {
    let needle = format!("\"{key}\":");
    let start = json.find(&needle)? + needle.len();
    let rest = json[start..].trim_start().strip_prefix('"')?;
    let mut value = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => match chars.next()? {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'u' => {
                    let code: String = chars.by_ref().take(4).collect();
                    value.push(
                        u32::from_str_radix(&code, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .unwrap_or('\u{fffd}'),
                    );
                }
                other => value.push(other),
            },
            other => value.push(other),
        }
    }
    None
}

/// The user's answer to a permission request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum ApprovalAnswer {
    /// Run the tool call as asked.
    Allow,
    /// Run it, and allow what the agent suggests for the rest of the session.
    AllowAlways,
    /// Refuse it; the agent carries on (with the message as the tool's error).
    Deny {
        /// Why, for the agent.
        message: Option<String>,
    },
    /// Refuse it and end the turn; the session stays resumable.
    DenyAndStop {
        /// Why, for the agent.
        message: Option<String>,
    },
}

impl ApprovalAnswer {
    /// A short word for tables and traces.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::AllowAlways => "allow_always",
            Self::Deny { .. } => "deny",
            Self::DenyAndStop { .. } => "deny_and_stop",
        }
    }
}

impl fmt::Display for ApprovalAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Why a pending request stopped being pending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "closing", rename_all = "snake_case")]
pub enum ApprovalClosing {
    /// The user (or Lulu's approval deadline) answered it.
    Answered(ApprovalAnswer),
    /// The agent withdrew it (`control_cancel_request`, e.g. after an interrupt).
    Cancelled,
    /// The turn ended (its `result` arrived) or the run ended with it still pending.
    Cleared,
}

impl ApprovalClosing {
    /// The word stored for a closed request: `answered`, `cancelled` or `cleared`.
    pub fn state_word(&self) -> &'static str {
        match self {
            Self::Answered(_) => "answered",
            Self::Cancelled => "cancelled",
            Self::Cleared => "cleared",
        }
    }
}

/// A change to a session's permission requests, stored with the session in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalChange {
    /// A new pending request.
    Requested(ApprovalRequest),
    /// These pending requests are closed. An answer must find each still pending (exactly
    /// one of two answers wins); other closings skip what is already closed.
    Closed {
        /// The requests' ids.
        request_ids: Vec<String>,
        /// How they closed.
        closing: ApprovalClosing,
    },
}

/// The denial message Lulu sends when nobody answered within the approval timeout.
pub fn approval_timeout_message(after: Duration) -> String {
    format!(
        "Denied by Lulu: nobody answered this permission request within {} (LULU_APPROVAL_TIMEOUT)",
        humanize(after)
    )
}

fn humanize(after: Duration) -> String {
    let seconds = after.as_secs();
    if seconds >= 3600 && seconds.is_multiple_of(3600) {
        format!("{} h", seconds / 3600)
    } else if seconds >= 60 && seconds.is_multiple_of(60) {
        format!("{} min", seconds / 60)
    } else if seconds > 0 {
        format!("{seconds} s")
    } else {
        format!("{} ms", after.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::epoch;

    fn request(tool: &str, input: &str) -> ApprovalRequest {
        ApprovalRequest {
            request_id: "r1".into(),
            tool_name: tool.into(),
            input_json: input.into(),
            description: None,
            blocked_path: None,
            suggestions_json: None,
            requested_at: epoch(),
        }
    }

    #[test]
    fn the_summary_names_the_tool_and_its_main_argument() {
        let bash = request(
            "Bash",
            r#"{"command":"touch \"notes.md\"\u0021","description":"x"}"#,
        );
        assert_eq!(bash.summary(), "Bash: touch \"notes.md\"!");
        let write = request("Write", r#"{"content":"a","file_path": "/p/a.txt"}"#);
        assert_eq!(write.summary(), "Write: /p/a.txt");
        assert_eq!(request("Task", r#"{"n":1}"#).summary(), "Task");
        assert_eq!(
            request("Bash", r#"{"command":"unterminated"#).summary(),
            "Bash"
        );
    }

    #[test]
    fn the_timeout_message_says_how_long_and_which_setting() {
        assert_eq!(
            approval_timeout_message(Duration::from_secs(1800)),
            "Denied by Lulu: nobody answered this permission request within 30 min (LULU_APPROVAL_TIMEOUT)"
        );
        assert!(approval_timeout_message(Duration::from_millis(500)).contains("500 ms"));
        assert!(approval_timeout_message(Duration::from_secs(90)).contains("90 s"));
    }
}
