//! Follow-ups to a live run (`lulu send`), taken by fake-claude as the real CLI takes
//! them: queued for a next turn while text streams, joined to the turn during a tool or a
//! pending permission request.

use serde_json::Value;

use crate::harness::{wait_until, Sandbox};

fn transcript(sandbox: &Sandbox, id: &str) -> Vec<Value> {
    sandbox
        .ok(&["logs", id, "--json"])
        .lines()
        .map(|line| serde_json::from_str(line).expect("logs --json is JSON lines"))
        .collect()
}

fn count(entries: &[Value], kind: &str) -> usize {
    entries.iter().filter(|entry| entry["kind"] == kind).count()
}

fn last_text(entries: &[Value]) -> String {
    entries
        .iter()
        .rev()
        .find(|entry| entry["kind"] == "assistant_text")
        .and_then(|entry| entry["text"].as_str())
        .expect("a reply")
        .to_owned()
}

/// Waits until the session's transcript holds an entry of `kind`.
fn wait_for_entry(sandbox: &Sandbox, id: &str, kind: &str) {
    wait_until(&format!("a {kind} entry"), || {
        count(&transcript(sandbox, id), kind) > 0
    });
}

#[test]
fn a_follow_up_while_text_streams_is_answered_in_a_next_turn_of_the_same_run() {
    let sandbox = Sandbox::new().env("FAKE_CLAUDE_TICK_MS", "300");
    let id = sandbox.detach("SLOW 8");
    wait_for_entry(&sandbox, &id, "assistant_text");

    let said = sandbox.ok(&["send", &id, "SAY", "second", "answer"]);

    assert!(said.starts_with(&format!("sent to {}", &id[..8])), "{said}");
    let session = sandbox.wait_status(&id, "completed");
    let entries = transcript(&sandbox, &id);
    assert_eq!(count(&entries, "user_message"), 1);
    assert_eq!(count(&entries, "result"), 2, "two turns, one run");
    assert_eq!(last_text(&entries), "second answer");
    assert_eq!(session["runs"].as_array().map(Vec::len), Some(1));
    assert_eq!(session["num_turns"], 2, "both turns count");
    sandbox.assert_nothing_left();
}

#[test]
fn a_follow_up_during_a_tool_joins_the_running_turn() {
    let sandbox = Sandbox::new();
    let id = sandbox.detach("BASH sleep 3");
    wait_for_entry(&sandbox, &id, "tool_use");

    sandbox.ok(&["send", &id, "and tell me when it is done"]);

    sandbox.wait_status(&id, "completed");
    let entries = transcript(&sandbox, &id);
    assert_eq!(count(&entries, "result"), 1, "no extra turn");
    assert!(
        last_text(&entries).ends_with("You also said: and tell me when it is done"),
        "{entries:#?}"
    );
    sandbox.assert_nothing_left();
}

#[test]
fn a_follow_up_while_a_permission_request_waits_joins_the_turn() {
    let sandbox = Sandbox::new();
    let id = sandbox.detach("PERMIT touch asked.md");
    sandbox.wait_status(&id, "needs_approval");

    sandbox.ok(&["send", &id, "go ahead"]);
    sandbox.ok(&["approve", &id]);

    sandbox.wait_status(&id, "completed");
    let entries = transcript(&sandbox, &id);
    assert_eq!(count(&entries, "result"), 1);
    assert!(last_text(&entries).ends_with("You also said: go ahead"));
    sandbox.assert_nothing_left();
}

#[test]
fn a_follow_up_to_a_settled_session_is_refused_with_what_to_do() {
    let sandbox = Sandbox::new();
    let out = sandbox.ok(&["run", "SAY done already"]);
    let id = out.lines().next().expect("the id").to_owned();

    let refused = sandbox.run(&["send", &id, "more"]);

    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("is completed and its agent takes no more messages")
            && stderr.contains("resume it"),
        "{stderr}"
    );
    sandbox.assert_nothing_left();
}

/// Starts `prompt` detached and kept open; waits until its first turn is done (idle).
fn kept_open(sandbox: &Sandbox, prompt: &str) -> String {
    let id = sandbox
        .ok(&["run", "--detach", "--keep-open", prompt])
        .trim()
        .to_owned();
    sandbox.wait_status(&id, "idle");
    id
}

#[test]
fn a_kept_open_session_idles_and_answers_a_follow_up_in_the_same_run_with_the_earlier_turn() {
    let sandbox = Sandbox::new();
    let id = kept_open(&sandbox, "SAY first");
    let list = sandbox.ok(&["list"]);
    assert!(list.contains("idle"), "{list}");
    let first = sandbox.show(&id);
    assert_eq!(
        first["num_turns"], 1,
        "counted while the run lives: {first:#}"
    );
    assert!(first["total_cost_usd"].as_f64() > Some(0.0), "{first:#}");

    sandbox.ok(&["send", &id, "HISTORY"]);

    wait_until("a second turn", || {
        count(&transcript(&sandbox, &id), "result") == 2
    });
    let session = sandbox.wait_status(&id, "idle");
    assert_eq!(session["runs"].as_array().map(Vec::len), Some(1), "one run");
    assert_eq!(
        session["num_turns"], 2,
        "each turn counts as it ends: {session:#}"
    );
    let entries = transcript(&sandbox, &id);
    assert_eq!(
        last_text(&entries),
        "This conversation holds 1 earlier turns."
    );
    let said = sandbox.ok(&["close", &id]);
    assert!(said.starts_with("closing"), "{said}");
    let closed = sandbox.wait_status(&id, "completed");
    assert_eq!(closed["num_turns"], 2, "both turns count");
    sandbox.assert_nothing_left();
}

#[test]
fn an_idle_session_is_interrupted_at_once() {
    let sandbox = Sandbox::new();
    let id = kept_open(&sandbox, "SAY first");

    sandbox.interrupt_cleanly(&id);

    sandbox.assert_nothing_left();
}

#[test]
fn a_kept_open_session_idle_past_the_idle_timeout_is_closed() {
    let sandbox = Sandbox::new().env("LULU_IDLE_TIMEOUT", "500ms");
    let id = sandbox
        .ok(&["run", "--detach", "--keep-open", "SAY first"])
        .trim()
        .to_owned();

    let session = sandbox.wait_status(&id, "completed");

    assert_eq!(session["num_turns"], 1);
    sandbox.assert_nothing_left();
}

#[test]
fn close_refuses_a_session_that_is_not_idle_between_turns() {
    let sandbox = Sandbox::new();
    let out = sandbox.ok(&["run", "SAY done"]);
    let id = out.lines().next().expect("the id").to_owned();

    let refused = sandbox.run(&["close", &id]);

    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("only a kept-open session that is idle between turns can be closed"),
        "{stderr}"
    );
    sandbox.assert_nothing_left();
}
