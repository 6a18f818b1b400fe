//! Every command with good and bad input, without a window (`tauri::test`'s mock
//! runtime), against a real daemon (started on demand by `lulu`) on a temp database and
//! the stand-in agent `fake-claude`. Bad input is refused with a message naming what is
//! wrong and the form field, and creates nothing: no session, not even a daemon.

#[path = "support/harness.rs"]
mod harness;

use std::path::Path;

use serde_json::{json, Value};

use harness::{assert_error, binaries, Harness};

#[test]
fn bad_start_input_is_refused_by_field_and_creates_nothing() {
    let app = Harness::new();
    let dir = app.dir.path().to_str().unwrap().to_owned();
    let file = app.dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let start = |input: Value| app.err("start_session", json!({ "input": input }));

    assert_error(
        &start(json!({"prompt": "  \n", "cwd": dir})),
        "invalid_input",
        Some("prompt"),
        "the prompt is empty",
    );
    assert_error(
        &start(json!({"prompt": "SAY hi", "cwd": ""})),
        "invalid_input",
        Some("cwd"),
        "choose the working directory",
    );
    assert_error(
        &start(json!({"prompt": "SAY hi", "cwd": "/no/such/dir"})),
        "cannot_launch",
        Some("cwd"),
        "`/no/such/dir` does not exist or is not a directory",
    );
    assert_error(
        &start(json!({"prompt": "SAY hi", "cwd": file})),
        "cannot_launch",
        Some("cwd"),
        "is not a directory",
    );
    assert_error(
        &start(json!({"prompt": "SAY hi", "cwd": "relative/dir"})),
        "invalid_input",
        Some("cwd"),
        "not an absolute path",
    );
    assert_error(
        &start(json!({"prompt": "SAY hi", "cwd": dir, "title": "bad\u{1b}[31m"})),
        "invalid_input",
        Some("title"),
        "control character U+001B",
    );
    assert_error(
        &start(json!({"prompt": "SAY hi", "cwd": dir, "permission_mode": "yolo"})),
        "bad_option",
        Some("permission_mode"),
        "`yolo` is not a permission mode",
    );
    assert_error(
        &start(json!({"prompt": "SAY hi", "cwd": dir, "model": "two words"})),
        "bad_option",
        Some("model"),
        "not a model name",
    );
    let unknown = app.invoke(
        "start_session",
        json!({"input": {"prompt": "x", "cwd": dir, "colour": "red"}}),
    );
    assert!(unknown
        .unwrap_err()
        .to_string()
        .contains("unknown field `colour`"));

    assert_eq!(app.ok("list_sessions", json!({})), json!([]));
    assert!(
        !app.daemon_socket_exists(),
        "bad input must not even start a daemon"
    );
}

#[test]
fn a_started_session_is_kept_open_until_closed_and_its_transcript_reads_in_pages() {
    let app = Harness::new();
    let started = app.start("SAY hello from the desktop");
    assert_eq!(started["title"], "SAY hello from the desktop");
    assert_eq!(started["options"]["keep_open"], true, "{started}");
    let id = started["id"].clone();

    // Kept open: idle between turns after its result, until closed.
    app.wait_status(&id, "idle");
    let listed = app.ok("list_sessions", json!({"status": "idle"}));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(
        app.ok("list_sessions", json!({"status": "running"})),
        json!([])
    );
    assert_eq!(app.ok("close_session", json!({"id": id}))["id"], id);
    let done = app.wait_status(&id, "completed");
    assert_eq!(done["resume_count"], 0);

    let all = app.ok("get_transcript", json!({"id": id}));
    let entries = all["entries"].as_array().unwrap();
    let last = all["last_seq"].as_u64().unwrap();
    assert_eq!(entries.len() as u64, last + 1);
    assert!(entries
        .iter()
        .any(|entry| entry["event"]["text"] == "hello from the desktop"));
    let tail = app.ok(
        "get_transcript",
        json!({"id": id, "after": last - 1, "limit": 1}),
    );
    assert_eq!(tail["entries"][0]["seq"], last);
    assert_eq!(tail["entries"][0]["event"]["kind"], "result");
    let page = app.ok("get_transcript", json!({"id": id, "after": 0, "limit": 2}));
    assert_eq!(
        page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].clone())
            .collect::<Vec<_>>(),
        [json!(1), json!(2)]
    );

    let details = app.ok("get_session", json!({"id": id.as_str().unwrap()[..8]}));
    assert_eq!(details["runs"].as_array().unwrap().len(), 1);
    let settings = app.ok("get_settings", json!({}));
    assert_eq!(settings["db_path"], app.db.display().to_string());
    assert_eq!(settings["recent_dirs"], json!([app.dir.path()]));
    assert!(settings["daemon_pid"].as_u64().is_some());
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    assert_eq!(settings["build"], build, "the build desktop-bench reports");
}

#[test]
fn reads_of_unknown_sessions_and_bad_options_are_refused() {
    let app = Harness::new();
    let nobody = "0badc0de-0000-4000-8000-000000000000";
    for cmd in ["get_session", "interrupt_session", "get_transcript"] {
        assert_error(
            &app.err(cmd, json!({"id": nobody})),
            "unknown_id",
            Some("id"),
            nobody,
        );
    }
    assert_error(
        &app.err("get_session", json!({"id": "ab"})),
        "id_too_short",
        Some("id"),
        "at least 4 characters",
    );
    assert_error(
        &app.err("get_session", json!({"id": " "})),
        "invalid_input",
        Some("id"),
        "no session id",
    );
    assert_error(
        &app.err("get_session", json!({"id": "beef"})),
        "unknown_id",
        Some("id"),
        "beef",
    );
    assert_error(
        &app.err("list_sessions", json!({"status": "sleeping"})),
        "bad_option",
        Some("status"),
        "`sleeping` is not a session status",
    );
    assert_error(
        &app.err("list_sessions", json!({"limit": 0})),
        "bad_option",
        Some("limit"),
        "at least 1",
    );
    assert!(app
        .invoke("get_session", json!({}))
        .unwrap_err()
        .to_string()
        .contains("id"));

    let id = app.start("SAY paged")["id"].clone();
    app.wait_status(&id, "idle");
    assert_error(
        &app.err("get_transcript", json!({"id": id, "limit": 0})),
        "bad_option",
        Some("limit"),
        "1 to 2000",
    );
    assert_error(
        &app.err("get_transcript", json!({"id": id, "limit": 5000})),
        "bad_option",
        Some("limit"),
        "not 5000",
    );
    assert_error(
        &app.err("get_transcript", json!({"id": id, "run": nobody})),
        "unknown_run",
        Some("run"),
        nobody,
    );
}

#[test]
fn interrupt_then_resume_keeps_one_session_and_counts_the_resume() {
    let app = Harness::new();
    let id = app.start("SLOW 400")["id"].clone();
    app.wait_status(&id, "running");

    assert_error(
        &app.err("resume_session", json!({"id": id, "prompt": "go on"})),
        "not_resumable",
        None,
        "interrupt it first",
    );
    let interrupted = app.ok("interrupt_session", json!({"id": id}));
    assert_eq!(interrupted["status"], "interrupted");
    assert_error(
        &app.err("interrupt_session", json!({"id": id})),
        "not_running",
        None,
        "",
    );

    assert_error(
        &app.err("resume_session", json!({"id": id, "prompt": " "})),
        "invalid_input",
        Some("prompt"),
        "the prompt is empty",
    );
    assert_error(
        &app.err(
            "resume_session",
            json!({"id": id, "prompt": "SAY done", "permission_mode": "yolo"}),
        ),
        "bad_option",
        Some("permission_mode"),
        "not a permission mode",
    );
    assert_eq!(
        app.ok("get_session", json!({"id": id}))["session"]["resume_count"],
        0
    );
    let resumed = app.ok(
        "resume_session",
        json!({"id": id, "prompt": "SAY done", "model": "claude-override"}),
    );
    assert_eq!(resumed["id"], id);
    let done = app.wait_status(&id, "idle");
    assert_eq!(done["resume_count"], 1);
    let runs = app.ok("get_session", json!({"id": id}))["runs"].clone();
    assert_eq!(runs.as_array().unwrap().len(), 2);
    assert_eq!(runs[1]["options"]["model"], "claude-override");
    assert_eq!(runs[1]["model"], "claude-override", "the agent ran it");
    assert_eq!(runs[0]["options"]["model"], serde_json::Value::Null);
    assert_eq!(
        app.ok("list_sessions", json!({})).as_array().unwrap().len(),
        1
    );
}

#[test]
fn delete_refuses_a_live_session_unless_forced_and_stop_all_interrupts_every_live_one() {
    let app = Harness::new();
    let first = app.start("SLOW 400")["id"].clone();
    let second = app.start("SLOW 400")["id"].clone();
    app.wait_status(&first, "running");
    app.wait_status(&second, "running");

    assert_error(
        &app.err("delete_session", json!({"id": first})),
        "still_live",
        None,
        "interrupt it first",
    );
    assert_eq!(
        app.ok("get_session", json!({"id": first}))["session"]["status"],
        "running"
    );
    assert_error(
        &app.err(
            "delete_session",
            json!({"id": "0badc0de-0000-4000-8000-000000000000"}),
        ),
        "unknown_id",
        Some("id"),
        "0badc0de",
    );

    let outcome = app.ok("stop_all_sessions", json!({}));
    assert_eq!(
        outcome["interrupted"].as_array().unwrap().len(),
        2,
        "{outcome}"
    );
    assert_eq!(outcome["failed"], json!([]));
    for id in [&first, &second] {
        assert_eq!(
            app.ok("get_session", json!({"id": id}))["session"]["status"],
            "interrupted"
        );
    }

    app.ok("delete_session", json!({"id": first}));
    assert_error(
        &app.err("get_session", json!({"id": first})),
        "unknown_id",
        Some("id"),
        "",
    );
    let third = app.start("SLOW 400")["id"].clone();
    app.wait_status(&third, "running");
    app.ok("delete_session", json!({"id": third, "force": true}));
    let left: Vec<Value> = app
        .ok("list_sessions", json!({}))
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    assert_eq!(left, [second]);
}

#[test]
fn the_lulu_executable_is_found_beside_the_app_or_on_the_path() {
    let bins = binaries::binaries();
    let dir = bins.lulu.parent().unwrap();
    let beside = lulu_app_tauri::state::find_lulu(Some(&dir.join("lulu-desktop")), None);
    assert_eq!(beside.as_deref(), Some(bins.lulu.as_path()));
    let on_path = lulu_app_tauri::state::find_lulu(
        Some(Path::new("/nowhere/lulu-desktop")),
        Some(dir.as_os_str()),
    );
    assert_eq!(on_path.as_deref(), Some(bins.lulu.as_path()));
    assert_eq!(
        lulu_app_tauri::state::find_lulu(Some(Path::new("/nowhere/x")), Some("/nowhere".as_ref())),
        None
    );
}
