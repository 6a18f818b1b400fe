//! Permission requests end to end: fake-claude asks (`PERMIT cmd`) as the real CLI does,
//! the daemon owns the run, and answers come from other `lulu` processes.

use serde_json::Value;

use crate::harness::Sandbox;

/// Starts `PERMIT <command>` detached and waits until it needs approval.
fn asking(sandbox: &Sandbox, command: &str) -> String {
    let id = sandbox.detach(&format!("PERMIT {command}"));
    let session = sandbox.wait_status(&id, "needs_approval");
    assert_eq!(
        session["pending_approvals"][0]["summary"],
        format!("Bash: {command}")
    );
    id
}

/// The session's transcript, one JSON value per entry.
fn transcript(sandbox: &Sandbox, id: &str) -> Vec<Value> {
    sandbox
        .ok(&["logs", id, "--json"])
        .lines()
        .map(|line| serde_json::from_str(line).expect("logs --json is JSON lines"))
        .collect()
}

/// The first tool result in the transcript.
fn tool_result(sandbox: &Sandbox, id: &str) -> Value {
    transcript(sandbox, id)
        .into_iter()
        .find(|entry| entry["kind"] == "tool_result")
        .expect("a tool result")
}

#[test]
fn an_approved_request_runs_the_tool_and_the_list_shows_it_first_while_it_waits() {
    let sandbox = Sandbox::new();
    let id = asking(&sandbox, "touch notes.md");
    let _later = sandbox.detach("SAY I am newer");
    // Piped: one tab-separated row per session, what waits for the user first.
    let list = sandbox.ok(&["list"]);
    let first_row: Vec<&str> = list.lines().next().expect("a row").split('\t').collect();
    assert_eq!(first_row[..2], [id.as_str(), "needs_approval"], "{list}");
    let listed: Value = serde_json::from_str(&sandbox.ok(&["list", "--json"])).unwrap();
    assert_eq!(listed[0]["id"], id.as_str(), "{listed}");
    assert_eq!(
        listed[0]["pending_approvals"][0]["summary"],
        "Bash: touch notes.md"
    );

    let said = sandbox.ok(&["approve", &id[..8]]);

    assert!(
        said.starts_with("allowed Bash: touch notes.md in"),
        "{said}"
    );
    let session = sandbox.wait_status(&id, "completed");
    assert_eq!(session["pending_approvals"], serde_json::json!([]));
    assert!(sandbox.work.join("notes.md").exists(), "the tool ran");
    assert_eq!(tool_result(&sandbox, &id)["is_error"], false);
    sandbox.assert_nothing_left();
}

#[test]
fn allow_always_runs_the_tool() {
    let sandbox = Sandbox::new();
    let id = asking(&sandbox, "touch always.md");

    let said = sandbox.ok(&["approve", &id, "--always"]);

    assert!(
        said.starts_with("allowed for the rest of the session"),
        "{said}"
    );
    sandbox.wait_status(&id, "completed");
    assert!(sandbox.work.join("always.md").exists());
    sandbox.assert_nothing_left();
}

#[test]
fn a_denial_with_a_message_reaches_the_agent_which_carries_on() {
    let sandbox = Sandbox::new();
    let id = asking(&sandbox, "touch denied.md");

    sandbox.ok(&["deny", &id, "--message", "not today"]);

    sandbox.wait_status(&id, "completed");
    let result = tool_result(&sandbox, &id);
    assert_eq!(result["is_error"], true);
    assert_eq!(result["content"], "not today");
    assert!(
        !sandbox.work.join("denied.md").exists(),
        "the tool never ran"
    );
    sandbox.assert_nothing_left();
}

#[test]
fn deny_and_stop_ends_the_turn_interrupted_and_the_session_resumes() {
    let sandbox = Sandbox::new();
    let id = asking(&sandbox, "touch stopped.md");

    sandbox.ok(&["deny", &id, "--stop"]);

    let session = sandbox.wait_status(&id, "interrupted");
    assert_eq!(session["last_error"], Value::Null);
    assert!(!sandbox.work.join("stopped.md").exists());
    let resumed = sandbox.ok(&["resume", &id, "SAY carrying on"]);
    assert!(resumed.contains("carrying on"), "{resumed}");
    assert_eq!(sandbox.show(&id)["status"], "completed");
    sandbox.assert_nothing_left();
}

#[test]
fn an_interrupt_while_waiting_cancels_the_request_and_ends_interrupted() {
    let sandbox = Sandbox::new();
    let id = asking(&sandbox, "touch never.md");

    let session = sandbox.interrupt_cleanly(&id);

    assert_eq!(session["pending_approvals"], serde_json::json!([]));
    let kinds: Vec<Value> = transcript(&sandbox, &id)
        .into_iter()
        .map(|entry| entry["kind"].clone())
        .collect();
    assert!(
        kinds.contains(&Value::from("permission_cancelled")),
        "{kinds:?}"
    );
    let late = sandbox.run(&["approve", &id]);
    assert_eq!(late.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&late.stderr);
    assert!(
        stderr.contains("has no pending permission request"),
        "{stderr}"
    );
    sandbox.assert_nothing_left();
}

#[test]
fn of_two_answers_at_once_exactly_one_is_taken_and_the_other_is_told_why() {
    let sandbox = Sandbox::new();
    let id = asking(&sandbox, "touch raced.md");

    let refused = sandbox.race(&["approve", &id]);

    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("has no pending permission request") && stderr.contains("already answered"),
        "{stderr}"
    );
    sandbox.wait_status(&id, "completed");
    let answered = transcript(&sandbox, &id)
        .into_iter()
        .filter(|entry| entry["kind"] == "tool_result")
        .count();
    assert_eq!(answered, 1, "the agent got one answer");
    sandbox.assert_nothing_left();
}

#[test]
fn a_request_nobody_answers_is_denied_when_the_approval_timeout_passes() {
    let sandbox = Sandbox::new().env("LULU_APPROVAL_TIMEOUT", "300ms");
    let id = sandbox.detach("PERMIT touch late.md");

    sandbox.wait_status(&id, "completed");

    let result = tool_result(&sandbox, &id);
    assert_eq!(result["is_error"], true);
    let content = result["content"].as_str().expect("text");
    assert!(content.contains("LULU_APPROVAL_TIMEOUT"), "{content}");
    assert!(!sandbox.work.join("late.md").exists());
    sandbox.assert_nothing_left();
}

#[test]
fn a_foreground_run_without_a_terminal_denies_and_says_how_to_allow() {
    let sandbox = Sandbox::new();

    let output = sandbox.run(&["run", "PERMIT touch scripted.md"]);

    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("denied Bash: touch scripted.md: there is no terminal to ask on")
            && stderr.contains("--on-approval wait"),
        "{stderr}"
    );
    assert!(!sandbox.work.join("scripted.md").exists());
    sandbox.assert_nothing_left();
}

#[test]
fn a_foreground_run_told_to_wait_is_answered_from_another_process() {
    let sandbox = Sandbox::new();
    let run = sandbox.spawn(&["run", "--on-approval", "wait", "PERMIT touch waited.md"]);
    let id = sandbox.wait_for_newest_session();
    sandbox.wait_status(&id, "needs_approval");

    sandbox.ok(&["approve", &id]);

    let output = sandbox.finish(run);
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("needs approval: Bash: touch waited.md"),
        "{stderr}"
    );
    assert!(sandbox.work.join("waited.md").exists());
    sandbox.assert_nothing_left();
}

#[test]
fn an_allowed_tool_never_asks() {
    let sandbox = Sandbox::new();

    let output = sandbox.ok(&["run", "--allowed-tools", "Bash", "PERMIT touch trusted.md"]);

    assert!(!output.contains("needs approval"), "{output}");
    assert!(sandbox.work.join("trusted.md").exists());
    sandbox.assert_nothing_left();
}

#[test]
fn a_foreground_run_on_a_terminal_asks_inline_and_takes_the_answer() {
    use std::io::{Read as _, Write as _};
    use std::sync::{Arc, Mutex};

    let sandbox = Sandbox::new();
    let (run, mut terminal) = sandbox.spawn_on_terminal(&["run", "PERMIT touch inline.md"]);
    let shown = Arc::new(Mutex::new(String::new()));
    let reader = {
        let shown = Arc::clone(&shown);
        let mut terminal = terminal.try_clone().expect("the terminal");
        std::thread::spawn(move || {
            let mut buffer = [0_u8; 1024];
            // Ends with EIO once the run and its terminal are gone.
            while let Ok(read @ 1..) = terminal.read(&mut buffer) {
                shown
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..read]));
            }
        })
    };
    crate::harness::wait_until("the inline question", || {
        shown
            .lock()
            .unwrap()
            .contains("Allow Bash: touch inline.md? [y]es / [a]lways / [n]o / [s]top")
    });

    terminal.write_all(b"y\n").expect("the answer is typed");

    let output = sandbox.finish(run);
    assert!(
        output.status.success(),
        "{output:?}\n{}",
        shown.lock().unwrap()
    );
    assert!(sandbox.work.join("inline.md").exists(), "the tool ran");
    drop(terminal);
    let _ = reader.join();
    sandbox.assert_nothing_left();
}
