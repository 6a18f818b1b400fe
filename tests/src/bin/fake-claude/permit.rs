//! `PERMIT <cmd>`: a Bash call that needs permission, asked and answered as the real CLI
//! does it (see `CLAUDE_CLI_CONTROL.md`).
//!
//! `ASK <cmd>` is another name for it. Runs unasked with `bypassPermissions` /
//! `--dangerously-skip-permissions`, with `acceptEdits`, with `--allowedTools Bash`, or once
//! a session rule for Bash was added by an answer. Without `--permission-prompt-tool stdio`
//! it is denied at once. With it, a `can_use_tool`
//! control request follows the `tool_use` line and the turn waits for the answer: allow
//! (with `updatedInput`, which runs; bare allow is the 2.1.197 `ZodError` denial), deny
//! (the model goes on), deny with `interrupt: true` (the turn ends `aborted_tools`), an
//! interrupt (the request is cancelled first), or stdin EOF (the "stream closed" denial).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use serde_json::{json, Value};

use super::{Abort, Turn, TurnEnd};
use crate::args::Args;
use crate::emit::{new_message_id, new_uuid, ResultLine};

/// The 2.1.197 denial of an allow without `updatedInput`.
const ZOD_ERROR: &str = "Tool permission request failed: ZodError: [\n  {\n    \"code\": \"invalid_type\",\n    \"expected\": \"record\",\n    \"received\": \"undefined\",\n    \"path\": [\n      \"updatedInput\"\n    ],\n    \"message\": \"Expected record, received undefined\"\n  }\n]";
/// The denial when stdin closes while a request is pending.
const STREAM_CLOSED: &str =
    "Tool permission request failed: Error: Tool permission stream closed before response received";
/// The tool result of a deny with `interrupt: true`.
const STOP_TEXT: &str = "The user doesn't want to proceed with this tool use. The tool use was rejected (eg. if it was a file edit, the new_string was NOT written to the file). STOP what you are doing and wait for the user to tell you how to proceed.";

/// What may run without asking, and the permission request waiting for its answer.
#[derive(Debug, Default)]
pub struct Permissions {
    /// `--permission-prompt-tool stdio`: requests go to stdout.
    prompt_on_stdout: bool,
    /// No permission checks, `acceptEdits`, or `--allowedTools Bash` (see
    /// `args::bash_allowed`).
    unasked: bool,
    /// An answer added a session rule for Bash.
    session_rule: AtomicBool,
    /// The pending request's id, for a `control_cancel_request` on interrupt.
    pending: Mutex<Option<String>>,
}

impl Permissions {
    /// The permissions argv asks for.
    pub fn of(args: &Args) -> Self {
        Self {
            prompt_on_stdout: args.permission_prompt_tool.as_deref() == Some("stdio"),
            unasked: crate::args::bash_allowed(args),
            ..Self::default()
        }
    }

    /// Takes the pending request's id (an interrupt cancels it).
    pub fn take_pending(&self) -> Option<String> {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    fn set_pending(&self, request_id: Option<String>) {
        *self.pending.lock().unwrap_or_else(PoisonError::into_inner) = request_id;
    }
}

/// How a permission request was settled.
enum Decision {
    /// Run this command.
    Run(String),
    /// Refused with this tool error; the model goes on.
    Denied(String),
    /// Refused with `interrupt: true`.
    Stop,
    /// Interrupted while pending (the request was cancelled).
    Interrupted,
}

impl Turn {
    pub(super) async fn permit(&mut self, command: &str) -> TurnEnd {
        let tool_use_id = self.call_bash(command);
        let permissions = &self.conversation.permissions;
        if permissions.unasked || permissions.session_rule.load(Ordering::SeqCst) {
            return self.run_bash(&tool_use_id, command).await;
        }
        if !permissions.prompt_on_stdout {
            let path = self.blocked_path(command);
            let denial = format!("{} in '{path}' was blocked. For security, Claude Code may only run commands in this session that were allowed.", first_word(command));
            return self.denied(&tool_use_id, command, &denial);
        }
        match self.ask(&tool_use_id, command).await {
            Decision::Run(edited) => self.run_bash(&tool_use_id, &edited).await,
            Decision::Denied(message) => self.denied(&tool_use_id, command, &message),
            Decision::Stop => {
                self.conversation.end_tool();
                self.tool_error(&tool_use_id, STOP_TEXT, Some(json!(STOP_TEXT)));
                self.interrupted(None, "[Request interrupted by user for tool use]", true, 1)
            }
            Decision::Interrupted => {
                self.conversation.end_tool();
                let rejected = "User rejected tool use";
                self.tool_error(&tool_use_id, rejected, Some(json!(rejected)));
                self.interrupted(None, "[Request interrupted by user for tool use]", true, 1)
            }
        }
    }

    /// Emits the `can_use_tool` request and waits for what settles it.
    async fn ask(&mut self, tool_use_id: &str, command: &str) -> Decision {
        let request_id = new_uuid();
        let input = json!({"command": command, "description": "Run the requested command"});
        let mut request = json!({
            "subtype": "can_use_tool", "tool_name": "Bash", "display_name": "Bash",
            "input": input, "description": "Run the requested command",
            "permission_suggestions": [
                {"type": "addRules", "rules": [{"toolName": "Bash", "ruleContent": command}], "behavior": "allow", "destination": "localSettings"},
                {"type": "addDirectories", "directories": [self.conversation.cwd], "destination": "session"},
                {"type": "setMode", "mode": "acceptEdits", "destination": "session"},
            ],
            "tool_use_id": tool_use_id,
        });
        if command.starts_with("touch ") {
            request["blocked_path"] = json!(self.blocked_path(command));
        } else {
            request["decision_reason_type"] = json!("subcommandResults");
        }
        self.conversation.begin_tool();
        self.conversation
            .permissions
            .set_pending(Some(request_id.clone()));
        self.out().line(
            &json!({"type": "control_request", "request_id": request_id, "request": request}),
        );
        let decision = loop {
            let answer = tokio::select! {
                answer = async {
                    match self.answers.as_mut() {
                        Some(answers) => answers.recv().await,
                        None => None,
                    }
                } => answer,
                abort = self.abort.wait_for(Option::is_some) => {
                    if abort.is_ok_and(|abort| *abort == Some(Abort::Interrupt)) {
                        break Decision::Interrupted;
                    }
                    continue;
                }
            };
            let Some(answer) = answer else {
                break Decision::Denied(STREAM_CLOSED.to_owned());
            };
            // A late answer to another (cancelled) request is ignored.
            if answer["request_id"] == json!(request_id) {
                break self.decide(&answer);
            }
        };
        self.conversation.permissions.set_pending(None);
        decision
    }

    /// What one `control_response` payload decides.
    fn decide(&self, answer: &Value) -> Decision {
        if answer["subtype"] == "error" {
            let error = answer["error"].as_str().unwrap_or_default();
            return Decision::Denied(format!("Tool permission request failed: Error: {error}"));
        }
        let decision = &answer["response"];
        match decision["behavior"].as_str() {
            Some("allow") => {
                let Some(edited) = decision["updatedInput"].as_object() else {
                    return Decision::Denied(ZOD_ERROR.to_owned());
                };
                let session_rule = decision["updatedPermissions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|update| {
                        update["type"] == "addRules" && update["destination"] == "session"
                    });
                if session_rule {
                    self.conversation
                        .permissions
                        .session_rule
                        .store(true, Ordering::SeqCst);
                }
                let command = edited
                    .get("command")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                Decision::Run(command.to_owned())
            }
            Some("deny") if decision["interrupt"] == true => Decision::Stop,
            Some("deny") => Decision::Denied(
                decision["message"]
                    .as_str()
                    .unwrap_or("Permission to use Bash has been denied.")
                    .to_owned(),
            ),
            _ => Decision::Denied(ZOD_ERROR.to_owned()),
        }
    }

    /// The refused call's error result, then the model goes on: a text and a `success`
    /// result listing the denial.
    fn denied(&mut self, tool_use_id: &str, command: &str, message: &str) -> TurnEnd {
        self.tool_error(
            tool_use_id,
            message,
            Some(json!(format!("Error: {message}"))),
        );
        self.message_id = new_message_id();
        let text = super::with_folded(
            "The command was not allowed, so I did not run it.".to_owned(),
            &self.conversation.end_tool(),
        );
        let text = text.as_str();
        self.text(text);
        let denial = json!({"tool_name": "Bash", "tool_use_id": tool_use_id, "tool_input": {"command": command, "description": "Run the requested command"}});
        self.end(
            ResultLine {
                subtype: "success",
                text: Some(text.to_owned()),
                num_turns: 2,
                stop_reason: Some("end_turn"),
                terminal_reason: Some("completed"),
                permission_denials: vec![denial],
                ..ResultLine::default()
            },
            text,
        )
    }

    fn tool_error(&self, tool_use_id: &str, message: &str, tool_use_result: Option<Value>) {
        let content = json!([{"type": "tool_result", "content": message, "is_error": true, "tool_use_id": tool_use_id}]);
        let line = self.out().user(&content, tool_use_result);
        self.keep(&line);
    }

    /// The file a `touch` would create, in the cwd.
    fn blocked_path(&self, command: &str) -> String {
        let target = command.split_whitespace().nth(1).unwrap_or_default();
        format!("{}/{target}", self.conversation.cwd.trim_end_matches('/'))
    }
}

fn first_word(command: &str) -> &str {
    command.split_whitespace().next().unwrap_or_default()
}
