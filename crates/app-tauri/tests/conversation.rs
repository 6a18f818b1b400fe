//! Talking to a live session from the desktop, without a window: answering permission
//! requests (fake-claude's `PERMIT cmd` asks as the real CLI does), sending follow-ups and
//! closing a kept-open session. Bad input is refused by field before any daemon is asked.

#[path = "support/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use harness::{assert_error, Harness};

/// Starts `PERMIT <command>` from the desktop and waits until it needs approval.
fn asking(app: &Harness, command: &str) -> (Value, Value) {
    let id = app.start(&format!("PERMIT {command}"))["id"].clone();
    let session = app.wait_for(&id, "asking", |session| {
        session["status"] == "needs_approval"
            && !session["pending_approvals"].as_array().unwrap().is_empty()
    });
    (id, session["pending_approvals"][0].clone())
}

/// The session's transcript events (latest run).
fn events(app: &Harness, id: &Value) -> Vec<Value> {
    app.ok("get_transcript", json!({"id": id, "limit": 2000}))["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["event"].clone())
        .collect()
}

#[test]
fn bad_answers_messages_and_closes_are_refused_by_field_and_start_no_daemon() {
    let app = Harness::new();
    let nobody = "0badc0de-0000-4000-8000-000000000000";
    let answer = |args: Value| app.err("answer_approval", args);
    assert_error(
        &answer(json!({"id": nobody, "answer": "maybe"})),
        "bad_option",
        Some("answer"),
        "`maybe` is not an answer to a permission request: use one of allow, always, deny, stop",
    );
    assert_error(
        &answer(json!({"id": nobody, "answer": "allow", "message": "fine"})),
        "bad_option",
        Some("message"),
        "a message goes with a denial only",
    );
    assert_error(
        &answer(json!({"id": nobody, "answer": "deny", "requestId": " "})),
        "invalid_input",
        Some("request_id"),
        "the request id is empty",
    );
    assert_error(
        &answer(json!({"id": nobody, "answer": "stop", "message": "no"})),
        "unknown_id",
        Some("id"),
        nobody,
    );
    assert!(app
        .invoke("answer_approval", json!({"id": nobody}))
        .unwrap_err()
        .to_string()
        .contains("answer"));
    assert_error(
        &app.err("send_message", json!({"id": nobody, "text": " \n "})),
        "invalid_input",
        Some("text"),
        "the message is empty",
    );
    for (cmd, args) in [
        ("send_message", json!({"id": nobody, "text": "hello"})),
        ("close_session", json!({"id": nobody})),
    ] {
        assert_error(&app.err(cmd, args), "unknown_id", Some("id"), nobody);
    }
    assert!(
        !app.daemon_socket_exists(),
        "bad input must not even start a daemon"
    );
}

#[test]
fn an_allowed_request_runs_the_tool_and_a_second_answer_to_it_is_refused() {
    let app = Harness::new();
    let (id, asked) = asking(&app, "touch approved.md");
    assert_eq!(asked["tool_name"], "Bash");
    assert!(
        asked["input_json"]
            .as_str()
            .unwrap()
            .contains("touch approved.md"),
        "{asked}"
    );
    assert_eq!(
        asked["blocked_path"],
        format!("{}/approved.md", app.dir.path().display())
    );
    let request = asked["request_id"].clone();

    let answered = app.ok(
        "answer_approval",
        json!({"id": id, "requestId": request, "answer": "allow"}),
    );
    assert_eq!(answered["pending_approvals"], json!([]), "{answered}");
    assert_error(
        &app.err(
            "answer_approval",
            json!({"id": id, "requestId": request, "answer": "deny"}),
        ),
        "no_pending_approval",
        None,
        "already answered",
    );
    app.wait_status(&id, "idle");
    assert!(app.dir.path().join("approved.md").exists(), "the tool ran");
    // Kept open and idle: no request left to answer, nothing to close twice.
    assert_error(
        &app.err("answer_approval", json!({"id": id, "answer": "allow"})),
        "no_pending_approval",
        None,
        "has no pending permission request",
    );
}

#[test]
fn a_denial_with_a_message_reaches_the_agent_which_carries_on() {
    let app = Harness::new();
    let (id, _) = asking(&app, "touch denied.md");
    app.ok(
        "answer_approval",
        json!({"id": id, "answer": "deny", "message": "not in this folder"}),
    );
    app.wait_status(&id, "idle");
    assert!(
        !app.dir.path().join("denied.md").exists(),
        "the tool never ran"
    );
    let events = events(&app, &id);
    assert!(
        events.iter().any(|event| event["kind"] == "tool_result"
            && event["is_error"] == true
            && event["content"] == "not in this folder"),
        "{events:?}"
    );
    assert!(events.iter().any(|event| event["kind"] == "assistant_text"
        && event["text"].as_str().unwrap().contains("was not allowed")));
}

#[test]
fn a_follow_up_to_an_idle_session_is_answered_in_the_same_run_and_close_ends_it() {
    let app = Harness::new();
    let id = app.start("SAY first")["id"].clone();
    app.wait_status(&id, "idle");
    assert_error(
        &app.err("resume_session", json!({"id": id, "prompt": "SAY again"})),
        "not_resumable",
        None,
        "",
    );

    let sent = app.ok(
        "send_message",
        json!({"id": id, "text": "SAY second answer"}),
    );
    assert_eq!(sent["id"], id);
    // The message is in the transcript where it was sent, and the reply follows it.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let events = events(&app, &id);
        let said = events.iter().position(|event| {
            event["kind"] == "user_message" && event["text"] == "SAY second answer"
        });
        let answered = said.is_some_and(|said| {
            events[said..]
                .iter()
                .any(|event| event["kind"] == "assistant_text" && event["text"] == "second answer")
        });
        if answered {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no answer to the follow-up: {events:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let session = app.wait_status(&id, "idle");
    assert_eq!(session["resume_count"], 0, "one run, no resume");
    assert_eq!(
        app.ok("get_session", json!({"id": id}))["runs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    app.ok("close_session", json!({"id": id}));
    app.wait_status(&id, "completed");
    assert_error(
        &app.err("close_session", json!({"id": id})),
        "not_idle",
        None,
        "only a kept-open session that is idle between turns can be closed",
    );
    assert_error(
        &app.err("send_message", json!({"id": id, "text": "more"})),
        "not_accepting_input",
        None,
        "resume it to continue the conversation",
    );
}
