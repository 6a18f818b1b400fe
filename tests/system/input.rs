//! What `lulu` accepts: flags anywhere before `--`, and every check a user can fail done
//! before anything is stored or any agent (a paid run, with the real CLI) is started.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Output;

use serde_json::Value;

use crate::harness::Sandbox;

/// Asserts `output` is a usage error: exit 2, one line on stderr that contains `expected`.
fn assert_usage_error(output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "a usage error: {output:?}");
    assert!(stderr.contains(expected), "names `{expected}`: {stderr}");
    assert!(!stderr.contains("WARN"), "no warning first: {stderr}");
    // The sandbox logs at info level (opening a fresh database says so); the rest is the message.
    let said: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.contains(" INFO "))
        .collect();
    assert_eq!(said.len(), 1, "one line: {stderr}");
}

/// Asserts no session was stored.
fn assert_no_sessions(sandbox: &Sandbox) {
    let listed: Value = serde_json::from_str(&sandbox.ok(&["list", "--json"])).unwrap();
    assert_eq!(listed, Value::Array(Vec::new()), "nothing was stored");
}

#[test]
fn flags_after_the_prompt_are_flags() {
    let sandbox = Sandbox::new();

    let id = sandbox.ok(&["run", "SAY a", "--detach"]);

    let id = id.trim();
    assert_eq!(id.lines().count(), 1, "detached: only the id: {id}");
    let session = sandbox.wait_status(id, "completed");
    assert_eq!(session["runs"][0]["prompt"], "SAY a");
    sandbox.assert_nothing_left();
}

#[test]
fn a_mistyped_flag_is_a_usage_error_that_suggests_the_right_one() {
    let sandbox = Sandbox::new();

    let output = sandbox.run(&["run", "SAY a", "--detatch"]);

    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("'--detach'"), "suggests --detach: {stderr}");
    assert_no_sessions(&sandbox);
}

#[test]
fn after_a_double_dash_everything_is_prompt_text() {
    let sandbox = Sandbox::new();

    let first = sandbox.ok(&["run", "--", "SAY", "-rf", "--detach"]);

    let id = first.lines().next().unwrap();
    assert_eq!(sandbox.show(id)["runs"][0]["prompt"], "SAY -rf --detach");
}

#[test]
fn a_directory_that_cannot_be_used_is_a_usage_error_before_any_session() {
    let sandbox = Sandbox::new();
    let missing = sandbox.work.join("missing");
    let file = sandbox.work.join("a-file");
    std::fs::write(&file, "not a directory").unwrap();

    for dir in [&missing, &file] {
        let dir = dir.to_str().unwrap();
        for detach in [false, true] {
            let mut args = vec!["run", "--cwd", dir, "SAY a"];
            if detach {
                args.push("--detach");
            }
            assert_usage_error(&sandbox.run(&args), dir);
        }
    }
    assert_no_sessions(&sandbox);
}

#[test]
fn an_agent_binary_that_cannot_be_run_says_why_before_any_session() {
    let sandbox = Sandbox::new();
    let not_executable = sandbox.work.join("claude-not-executable");
    std::fs::write(&not_executable, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&not_executable, std::fs::Permissions::from_mode(0o644)).unwrap();
    let directory = sandbox.work.to_str().unwrap().to_owned();
    let missing = sandbox.work.join("no-such-claude");
    let cases = [
        (missing.to_str().unwrap(), "was not found"),
        ("no-such-claude-on-path", "was not found"),
        (directory.as_str(), "is a directory"),
        (not_executable.to_str().unwrap(), "is not executable"),
    ];

    for (binary, why) in cases {
        for detach in [false, true] {
            let mut args = vec!["run", "--claude-bin", binary, "SAY a"];
            if detach {
                args.push("--detach");
            }
            let output = sandbox.run(&args);
            assert_usage_error(&output, binary);
            assert_usage_error(&output, why);
        }
    }
    assert_no_sessions(&sandbox);
}

#[test]
fn blank_input_and_short_ids_are_usage_errors() {
    let sandbox = Sandbox::new();

    assert_usage_error(&sandbox.run(&["run", ""]), "the prompt is empty");
    assert_usage_error(&sandbox.run(&["run", " \n "]), "the prompt is empty");
    assert_usage_error(
        &sandbox.run(&["run", "--detach", "  "]),
        "the prompt is empty",
    );
    assert_usage_error(
        &sandbox.run(&["run", "--title", "  ", "SAY a"]),
        "the title is empty",
    );
    assert_usage_error(&sandbox.run(&["show", "abc"]), "give at least 4 characters");
    assert_usage_error(
        &sandbox.run(&["resume", "abc", "SAY a"]),
        "give at least 4 characters",
    );
    assert_no_sessions(&sandbox);
}

#[test]
fn a_relative_claude_bin_is_found_from_where_lulu_started() {
    let sandbox = Sandbox::new();
    std::os::unix::fs::symlink(crate::fake_claude(), sandbox.work.join("my-claude")).unwrap();
    let elsewhere = sandbox.work.join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let elsewhere = elsewhere.to_str().unwrap();

    let first = sandbox.ok(&[
        "run",
        "--claude-bin",
        "./my-claude",
        "--cwd",
        elsewhere,
        "SAY found",
    ]);
    let detached = sandbox.ok(&[
        "run",
        "--detach",
        "--claude-bin",
        "./my-claude",
        "--cwd",
        elsewhere,
        "SAY found",
    ]);

    let id = first.lines().next().unwrap();
    assert_eq!(sandbox.show(id)["status"], "completed", "{first}");
    sandbox.wait_status(detached.trim(), "completed");
    sandbox.assert_nothing_left();
}

#[test]
fn a_detached_run_takes_a_prompt_of_200_kib() {
    let sandbox = Sandbox::new();
    // One argv string may hold at most 128 KiB, so the test passes the prompt as words.
    let word = "x".repeat(1023);
    let mut args = vec!["run", "--detach", "SAY"];
    args.extend(std::iter::repeat_n(word.as_str(), 200));

    let id = sandbox.ok(&args);

    let session = sandbox.wait_status(id.trim(), "completed");
    let prompt = session["runs"][0]["prompt"].as_str().unwrap();
    assert_eq!(prompt.len(), 3 + 200 * 1024);
    sandbox.assert_nothing_left();
}
