//! Agents that misbehave on their own: a crash, an API error, a line that is not JSON,
//! a 16 MiB line and 100 MB of stderr. Each run settles as it should and every line it
//! printed is accounted for.

use crate::invariants::{check_invariants, Transcripts};
use crate::world::World;

/// Runs `prompt` in the foreground; returns (exit code, the session).
fn run(world: &World, prompt: &str) -> (Option<i32>, serde_json::Value) {
    let output = world.run(&["run", prompt]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let id = stdout
        .lines()
        .next()
        .unwrap_or_else(|| panic!("`lulu run {prompt}` printed no session id: {output:?}"))
        .to_owned();
    (output.status.code(), world.show(&id))
}

fn logs_json(world: &World, session: &serde_json::Value) -> String {
    world.ok(&["logs", session["id"].as_str().expect("an id"), "--json"])
}

#[test]
fn a_crashing_agent_fails_its_session() {
    let world = World::new();
    let (code, session) = run(&world, "CRASH");
    assert_eq!(code, Some(1));
    assert_eq!(session["status"], "failed", "{session:#}");
    assert!(logs_json(&world, &session).contains("About to crash."));
    check_invariants(&world, Transcripts::Exact);
}

#[test]
fn an_api_error_fails_its_session_with_the_error() {
    let world = World::with_env(&[("CLAUDE_CODE_MAX_RETRIES", "2")]);
    let (code, session) = run(&world, "FAIL");
    assert_eq!(code, Some(1));
    assert_eq!(session["status"], "failed", "{session:#}");
    assert!(logs_json(&world, &session).contains("api_retry"));
    check_invariants(&world, Transcripts::Exact);
}

#[test]
fn a_malformed_line_becomes_a_diagnostic_and_the_run_goes_on() {
    let world = World::new();
    let (code, session) = run(&world, "MALFORMED");
    assert_eq!(code, Some(0));
    assert_eq!(session["status"], "completed", "{session:#}");
    let logs = logs_json(&world, &session);
    assert!(logs.contains("not JSON"), "{logs}");
    assert!(logs.contains("Sent a malformed line."), "{logs}");
    check_invariants(&world, Transcripts::Exact);
}

#[test]
fn a_16_mib_line_is_skipped_with_a_diagnostic_and_the_run_completes() {
    let world = World::new();
    let (code, session) = run(&world, "HUGE 16");
    assert_eq!(code, Some(0));
    assert_eq!(session["status"], "completed", "{session:#}");
    let logs = logs_json(&world, &session);
    assert!(logs.contains("longer than the"), "{logs}");
    assert!(logs.contains("Sent a huge line."), "{logs}");
    check_invariants(&world, Transcripts::Exact);
}

#[test]
fn a_hundred_megabytes_of_stderr_do_not_stall_the_run() {
    let world = World::new();
    let (code, session) = run(&world, "STDERR 100");
    assert_eq!(code, Some(0));
    assert_eq!(session["status"], "completed", "{session:#}");
    assert!(logs_json(&world, &session).contains("Flooded stderr."));
    check_invariants(&world, Transcripts::Exact);
}
