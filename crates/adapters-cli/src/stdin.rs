//! What Lulu writes on the agent's stdin: the turn's `user` line and control requests.

use serde_json::json;
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

    #[test]
    fn the_interrupt_request_has_the_documented_shape() {
        insta::assert_snapshot!(interrupt_line("lulu-1"), @r#"{"request":{"subtype":"interrupt"},"request_id":"lulu-1","type":"control_request"}"#);
    }
}
