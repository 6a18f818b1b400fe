//! What `lulu` tells people beyond the transcript: refused tool calls, why a run never
//! launched, and what to do next.

use crate::harness::{redact, Sandbox};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_refused_tool_call_is_said_in_the_transcript_at_the_end_and_in_show() {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&["run", "ASK touch notes.md"]);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let id = stdout.lines().next().unwrap().to_owned();
    assert!(
        stdout.contains("! Bash needed approval: touch notes.md"),
        "the transcript says which call was refused: {stdout}"
    );
    assert!(
        stderr.contains("allow it with --allowed-tools Bash"),
        "the end says how to allow it: {stderr}"
    );
    assert!(
        !sandbox.work.join("notes.md").exists(),
        "the call did not run"
    );
    assert_eq!(sandbox.show(&id)["permission_denials"], 1);
    let show = sandbox.ok(&["show", &id]);
    assert!(
        show.contains("1 tool call needed approval"),
        "show counts it: {show}"
    );
    let logs = sandbox.ok(&["logs", &id]);
    assert!(
        logs.contains("! Bash needed approval: touch notes.md"),
        "{logs}"
    );

    let allowed = sandbox.run(&["run", "--allowed-tools", "Bash", "ASK touch notes.md"]);
    assert_eq!(allowed.status.code(), Some(0));
    assert!(sandbox.work.join("notes.md").exists(), "allowed, it ran");
    assert!(!text(&allowed.stderr).contains("needed approval"));
    sandbox.assert_nothing_left();
}

#[test]
fn a_run_that_never_launched_is_told_once_with_a_hint_for_its_cause() {
    let sandbox = Sandbox::new();
    let doomed = sandbox.work.join("agent-copy");
    std::fs::copy(crate::fake_claude(), &doomed).unwrap();
    // The daemon starts with the copy, which then disappears; this command names another.
    let mut first = sandbox.lulu(&["run", "SAY hello"]);
    first.env("LULU_CLAUDE_BIN", &doomed);
    assert!(sandbox.run_command(first).status.success());
    std::fs::remove_file(&doomed).unwrap();

    let mut command = sandbox.lulu(&["run", "SAY again"]);
    command.env_remove("RUST_LOG");
    let output = sandbox.run_command(command);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    let everything = format!("{stdout}{stderr}");
    assert_eq!(
        everything.matches("was not found").count(),
        1,
        "the cause is said once: {everything}"
    );
    for noise in ["WARN", "INFO", "lulu_domain", "lulu_runtime"] {
        assert!(
            !stderr.contains(noise),
            "no diagnostics by default: {stderr}"
        );
    }
    assert!(
        stderr.contains("the daemon runs the agent binary it was started with")
            && stderr.contains("`lulu daemon restart`"),
        "the hint names the cause: {stderr}"
    );
    let id = sandbox.wait_for_newest_session();
    let logs = sandbox.ok(&["logs", &id]);
    assert!(
        logs.contains("» SAY again") && logs.contains("✗ the agent binary"),
        "logs say what the run was asked and why it never launched: {logs}"
    );
    sandbox.assert_nothing_left();
}

#[test]
fn logs_tell_the_prompt_tool_output_in_short_or_full_and_refusals() {
    let sandbox = Sandbox::new();
    let first = sandbox.ok(&["run", "BASH seq 1 10"]);
    let id = first.lines().next().unwrap().to_owned();
    sandbox.ok(&["resume", &id, "ASK touch notes.md"]);

    let logs = sandbox.ok(&["logs", &id]);
    insta::assert_snapshot!("logs_with_a_tool_call_and_a_refusal", redact(&logs));
    let full = sandbox.ok(&["logs", "--full", &id]);
    assert!(
        full.contains("  10\n") && !full.contains("+7 lines"),
        "{full}"
    );
    let json: Vec<serde_json::Value> = sandbox
        .ok(&["logs", "--json", &id])
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let call = json
        .iter()
        .find(|entry| entry["kind"] == "tool_use")
        .unwrap();
    assert_eq!(call["input"]["command"], "seq 1 10", "an object: {call}");
    sandbox.assert_nothing_left();
}

#[test]
fn run_json_prints_the_stored_entries_as_json_lines_then_the_session() {
    let sandbox = Sandbox::new();
    let stdout = sandbox.ok(&["run", "--json", "SAY one two three four five"]);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is JSON"))
        .collect();
    let kinds: Vec<&str> = lines
        .iter()
        .map(|line| line["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["init", "assistant_text", "result", "session"],
        "streamed partials are not transcript entries: {stdout}"
    );
    assert_eq!(lines[1]["text"], "one two three four five");
    let session = &lines[3];
    assert_eq!(session["status"], "completed");
    let id = session["id"].as_str().unwrap();
    // The transcript `logs --json` prints is the same.
    let logged: Vec<serde_json::Value> = sandbox
        .ok(&["logs", id, "--json"])
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(logged, lines[..3]);
    sandbox.assert_nothing_left();
}

#[test]
fn list_pages_through_json_limits_rows_and_says_when_a_filter_matched_nothing() {
    let sandbox = Sandbox::new();
    for word in ["one", "two", "three"] {
        sandbox.ok(&["run", &format!("SAY {word}")]);
    }
    let all: Vec<serde_json::Value> =
        serde_json::from_str(&sandbox.ok(&["list", "--all", "--json"])).unwrap();
    assert_eq!(all.len(), 3);
    let two: Vec<serde_json::Value> =
        serde_json::from_str(&sandbox.ok(&["ls", "-n", "2", "--json"])).unwrap();
    assert_eq!(two[..], all[..2], "newest first, the same rows");
    assert_eq!(sandbox.ok(&["list"]).lines().count(), 3, "piped: every row");

    let nothing = sandbox.run(&["list", "--status", "failed"]);
    assert!(nothing.status.success());
    assert!(nothing.stdout.is_empty(), "{nothing:?}");
    assert!(
        text(&nothing.stderr).contains("no session matches the filter"),
        "{nothing:?}"
    );
    assert_eq!(
        sandbox.ok(&["list", "--status", "failed", "--json"]).trim(),
        "[]"
    );
    sandbox.assert_nothing_left();
}

#[test]
fn run_dash_reads_the_prompt_from_stdin_and_bare_lulu_shows_where_to_start() {
    let sandbox = Sandbox::new();
    let task = sandbox.work.join("task.md");
    std::fs::write(&task, "SAY read from a file\n").unwrap();
    let mut command = sandbox.lulu(&["run", "-"]);
    command.stdin(std::fs::File::open(&task).unwrap());
    let output = sandbox.run_command(command);
    assert!(output.status.success(), "{output:?}");
    assert!(
        text(&output.stdout).contains("\nread from a file\n"),
        "{output:?}"
    );

    let bare = sandbox.run(&[]);
    assert_eq!(bare.status.code(), Some(0), "{bare:?}");
    let said = text(&bare.stdout);
    assert!(
        said.contains("SAY read from a file") && said.contains("lulu run PROMPT"),
        "{said}"
    );
    sandbox.assert_nothing_left();
}

#[test]
fn last_means_the_newest_session_for_resume_and_logs() {
    let sandbox = Sandbox::new();
    sandbox.ok(&["run", "SAY older"]);
    let newest = sandbox.ok(&["run", "SAY newest"]);
    let id = newest.lines().next().unwrap();
    let resumed = sandbox.ok(&["resume", "--last", "SAY", "again"]);
    assert_eq!(resumed.lines().next(), Some(id), "{resumed}");
    let logs = sandbox.ok(&["logs", "--last"]);
    assert!(
        logs.contains("» SAY newest") && logs.contains("» SAY again"),
        "{logs}"
    );
    sandbox.assert_nothing_left();
}
