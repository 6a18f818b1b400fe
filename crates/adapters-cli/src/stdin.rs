//! What Lulu writes on the agent's stdin: the turn's `user` line and control requests.

use lulu_domain::{ApprovalAnswer, ApprovalRequest};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::process::ChildStdin;
use tokio::sync::mpsc;

/// The stream-json `user` line that carries `prompt` verbatim (JSON-escaped, one line).
pub fn user_line(prompt: &str) -> String {
    json!({
        "type": "user",
        "message": { "role": "user", "content": prompt },
        "parent_tool_use_id": null,
        "session_id": "",
    })
    .to_string()
}

/// The stream-json control request that interrupts the running turn.
pub fn interrupt_line(request_id: &str) -> String {
    json!({
        "type": "control_request",
        "request_id": request_id,
        "request": { "subtype": "interrupt" },
    })
    .to_string()
}

/// The message sent with a denial when the user gave none.
pub const DEFAULT_DENIAL: &str = "The user denied this tool use through Lulu.";

/// The `control_response` line answering a `can_use_tool` request.
///
/// An allow always carries `updatedInput` (the received input, unchanged: 2.1.197 refuses
/// an allow without it); "always" adds the agent's `addRules` suggestions as
/// session-scoped `updatedPermissions` (a rule for the whole tool when it suggested none).
/// A deny carries a message (the user's, or [`DEFAULT_DENIAL`]); deny-and-stop adds
/// `interrupt: true`, which ends the turn.
pub fn permission_answer_line(request: &ApprovalRequest, answer: &ApprovalAnswer) -> String {
    let input: Value = serde_json::from_str(&request.input_json)
        .unwrap_or_else(|_| Value::Object(serde_json::Map::default()));
    let decision = match answer {
        ApprovalAnswer::Allow => json!({ "behavior": "allow", "updatedInput": input }),
        ApprovalAnswer::AllowAlways => json!({
            "behavior": "allow",
            "updatedInput": input,
            "updatedPermissions": session_rules(request),
        }),
        ApprovalAnswer::Deny { message } => json!({
            "behavior": "deny",
            "message": message.as_deref().unwrap_or(DEFAULT_DENIAL),
        }),
        ApprovalAnswer::DenyAndStop { message } => json!({
            "behavior": "deny",
            "message": message.as_deref().unwrap_or(DEFAULT_DENIAL),
            "interrupt": true,
        }),
    };
    json!({
        "type": "control_response",
        "response": {
            "subtype": "success",
            "request_id": request.request_id,
            "response": decision,
        },
    })
    .to_string()
}

/// The agent's `addRules` suggestions, scoped to this session.
fn session_rules(request: &ApprovalRequest) -> Value {
    let suggested: Vec<Value> = request
        .suggestions_json
        .as_deref()
        .and_then(|text| serde_json::from_str::<Vec<Value>>(text).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|suggestion| suggestion["type"] == "addRules")
        .map(|mut suggestion| {
            suggestion["destination"] = json!("session");
            suggestion["behavior"] = json!("allow");
            suggestion
        })
        .collect();
    if suggested.is_empty() {
        return json!([{
            "type": "addRules",
            "rules": [{ "toolName": request.tool_name }],
            "behavior": "allow",
            "destination": "session",
        }]);
    }
    Value::Array(suggested)
}

/// Writes each received line (plus `\n`) to the agent's stdin, in order, on a task of its
/// own so a slow reader never blocks the run's owner. Stdin is closed when every sender
/// is dropped, or at the first write error (the agent closed it or died); a closed
/// channel then tells the owner that stdin is gone.
pub fn spawn_stdin_writer(mut stdin: ChildStdin) -> mpsc::UnboundedSender<String> {
    let (sender, mut lines) = mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        while let Some(mut line) = lines.recv().await {
            line.push('\n');
            let written = stdin.write_all(line.as_bytes()).await;
            if written.is_err() || stdin.flush().await.is_err() {
                tracing::debug!("the agent's stdin is closed; dropping further input");
                break;
            }
        }
    });
    sender
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostile_prompt_stays_one_json_line_and_round_trips() {
        let prompt = "-p $(touch /tmp/pwned) \"quoted\" 'single'\nsecond line\t\u{0}end";
        let line = user_line(prompt);
        assert!(!line.contains('\n'));
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["message"]["content"], prompt);
    }

    fn request(suggestions: Option<&str>) -> ApprovalRequest {
        ApprovalRequest {
            request_id: "3358a92f".into(),
            tool_name: "Bash".into(),
            input_json: r#"{"command":"touch M && echo x","description":"d"}"#.into(),
            description: Some("d".into()),
            blocked_path: Some("/P/M".into()),
            suggestions_json: suggestions.map(str::to_owned),
            requested_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn answers_have_the_measured_shapes() {
        let suggested = r#"[{"type":"addRules","rules":[{"toolName":"Bash","ruleContent":"touch M && echo x"}],"behavior":"allow","destination":"localSettings"},{"type":"setMode","mode":"acceptEdits","destination":"session"}]"#;
        let lines = [
            permission_answer_line(&request(None), &ApprovalAnswer::Allow),
            permission_answer_line(&request(Some(suggested)), &ApprovalAnswer::AllowAlways),
            permission_answer_line(&request(None), &ApprovalAnswer::AllowAlways),
            permission_answer_line(
                &request(None),
                &ApprovalAnswer::Deny {
                    message: Some("not today".into()),
                },
            ),
            permission_answer_line(
                &request(None),
                &ApprovalAnswer::DenyAndStop { message: None },
            ),
        ];
        insta::assert_snapshot!(lines.join("\n"), @r#"
        {"response":{"request_id":"3358a92f","response":{"behavior":"allow","updatedInput":{"command":"touch M && echo x","description":"d"}},"subtype":"success"},"type":"control_response"}
        {"response":{"request_id":"3358a92f","response":{"behavior":"allow","updatedInput":{"command":"touch M && echo x","description":"d"},"updatedPermissions":[{"behavior":"allow","destination":"session","rules":[{"ruleContent":"touch M && echo x","toolName":"Bash"}],"type":"addRules"}]},"subtype":"success"},"type":"control_response"}
        {"response":{"request_id":"3358a92f","response":{"behavior":"allow","updatedInput":{"command":"touch M && echo x","description":"d"},"updatedPermissions":[{"behavior":"allow","destination":"session","rules":[{"toolName":"Bash"}],"type":"addRules"}]},"subtype":"success"},"type":"control_response"}
        {"response":{"request_id":"3358a92f","response":{"behavior":"deny","message":"not today"},"subtype":"success"},"type":"control_response"}
        {"response":{"request_id":"3358a92f","response":{"behavior":"deny","interrupt":true,"message":"The user denied this tool use through Lulu."},"subtype":"success"},"type":"control_response"}
        "#);
    }

    #[test]
    fn the_interrupt_request_has_the_documented_shape() {
        insta::assert_snapshot!(interrupt_line("lulu-1"), @r#"{"request":{"subtype":"interrupt"},"request_id":"lulu-1","type":"control_request"}"#);
    }
}
