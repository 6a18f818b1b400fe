//! The four regressions Lulu exists to fix, through the real binary.

use crate::harness::{exists, Sandbox};

#[test]
fn interrupting_one_of_two_running_sessions_leaves_the_other_running_to_completion() {
    let sandbox = Sandbox::new();
    let a = sandbox.detach("SLOW 600");
    let b = sandbox.detach("SLOW 20");
    sandbox.wait_status(&a, "running");
    sandbox.wait_status(&b, "running");

    sandbox.ok(&["interrupt", &a]);

    assert_eq!(sandbox.show(&a)["status"], "interrupted");
    assert_eq!(sandbox.show(&b)["status"], "running", "b was not touched");
    let b = sandbox.wait_status(&b, "completed");
    assert_eq!(b["last_error"], serde_json::Value::Null);
    sandbox.assert_nothing_left();
}

#[test]
fn an_agent_ignoring_interrupts_is_killed_by_the_silent_forceful_retry_tree_and_all() {
    let sandbox = Sandbox::new();
    let id = sandbox.detach("IGNORE_INT BASH sleep 300");
    let agent = sandbox.wait_for_agent(&id);

    // Interrupted, not timed out: the forceful retry landed before the 10 s deadline
    // (a timeout would say so and leave the session's error set), and silently.
    sandbox.interrupt_cleanly(&id);
    sandbox.assert_nothing_left();
    assert!(!exists(agent), "the agent is gone");
}

#[test]
fn resume_continues_the_same_conversation_in_the_same_session_row() {
    let sandbox = Sandbox::new();
    let first = sandbox.ok(&["run", "SAY hello there"]);
    let id = first.lines().next().expect("the id comes first").to_owned();
    let before = sandbox.show(&id);
    assert_eq!(before["status"], "completed");

    let second = sandbox.ok(&["resume", &id[..8], "HISTORY"]);

    assert_eq!(second.lines().next(), Some(id.as_str()), "same session id");
    let after = sandbox.show(&id);
    assert_eq!(after["status"], "completed");
    assert_eq!(after["resume_count"], 1);
    let runs = after["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["kind"], "start");
    assert_eq!(runs[1]["kind"], "resume");
    assert_eq!(after["active_run_id"], runs[1]["id"]);
    assert_ne!(after["active_run_id"], before["active_run_id"]);
    assert!(after["last_resume_at"].is_string());
    assert_eq!(after["created_at"], before["created_at"]);
    assert!(
        second.contains("1 earlier turn"),
        "the agent saw the first turn:\n{second}"
    );
    let listed: serde_json::Value = serde_json::from_str(&sandbox.ok(&["list", "--json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "no new session row");
}

#[test]
fn of_two_concurrent_operations_on_one_session_exactly_one_proceeds() {
    let sandbox = Sandbox::new();
    let id = sandbox.detach("SLOW 600");
    sandbox.wait_status(&id, "running");

    let refused = sandbox.race(&["interrupt", &id]);
    assert_eq!(refused.status.code(), Some(1));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("in progress") || message.contains("no running agent"),
        "{message}"
    );

    // The resumed run lasts, so the second resume meets it live whichever comes second
    // (a quick one could finish first, and a later resume of it rightly succeeds).
    let refused = sandbox.race(&["resume", "--detach", &id, "SLOW 600"]);
    assert_eq!(refused.status.code(), Some(1));
    let session = sandbox.wait_status(&id, "running");
    assert_eq!(session["resume_count"], 1, "exactly one resume happened");
    sandbox.ok(&["interrupt", &id]);
    sandbox.assert_nothing_left();
}
