//! A full disk never hangs a run, never leaves a session `running` with no agent, never
//! stops reads, and every transcript line is stored or counted as lost.

use serde_json::Value;

use crate::harness::{exists, wait_until, Sandbox};

/// A sandbox whose database sits on a 2 MiB disk of its own; `None` (the test skips,
/// saying so) where mounting is not permitted.
fn small_disk() -> Option<Sandbox> {
    let sandbox = Sandbox::new().on_small_disk("2m");
    if sandbox.is_none() {
        eprintln!("skipped: mounting a tmpfs is not permitted here (the suite runs as root in CI)");
    }
    sandbox
}

fn sessions(sandbox: &Sandbox) -> Vec<Value> {
    let list = sandbox.ok(&["list", "--json"]);
    serde_json::from_str::<Value>(&list)
        .expect("list --json is JSON")
        .as_array()
        .expect("an array")
        .clone()
}

fn stored_lines(sandbox: &Sandbox, id: &str) -> u64 {
    sandbox.ok(&["logs", id, "--json"]).lines().count() as u64
}

#[test]
fn a_foreground_run_whose_end_cannot_be_stored_exits_with_a_clear_error_and_reads_still_work() {
    let Some(sandbox) = small_disk() else { return };
    sandbox.ok(&["run", "SAY the database exists"]);
    let run = sandbox.spawn(&["run", "SLOW 30"]);
    wait_until("the run is live", || {
        sessions(&sandbox)
            .iter()
            .any(|session| session["status"] == "running")
    });
    sandbox.fill_disk();

    let output = sandbox.finish(run);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("disk is full"),
        "the cause is named: {stderr}"
    );
    // A read works on the full disk (recovery's refused write is only a warning).
    let listed = sandbox.run(&["list"]);
    assert!(
        listed.status.success(),
        "list works on a full disk: {}",
        String::from_utf8_lossy(&listed.stderr)
    );

    sandbox.free_disk();
    let id = sessions(&sandbox)
        .iter()
        .find(|session| session["title"] == "SLOW 30")
        .and_then(|session| session["id"].as_str().map(str::to_owned))
        .expect("the session is listed");
    // The daemon owns the run, not the client that gave up: once there is space it
    // stores how the run really ended.
    let settled = sandbox.wait_for(&id, "settled", |session| session["status"] != "running");
    assert_eq!(settled["status"], "completed", "{settled:#}");
    sandbox.assert_nothing_left();
}

#[test]
fn a_detached_run_on_a_full_disk_settles_once_space_returns_with_every_line_accounted_for() {
    let Some(sandbox) = small_disk() else { return };
    let reference = sandbox.detach("SLOW 30");
    sandbox.wait_status(&reference, "completed");
    let emitted = stored_lines(&sandbox, &reference);

    let id = sandbox.detach("SLOW 30");
    let agent = sandbox.wait_for_agent(&id);
    sandbox.fill_disk();
    wait_until("the agent has exited", || !exists(agent));
    // Whatever the owner cannot store, reads work, and an interrupt does not claim the
    // agent still runs.
    assert_eq!(sandbox.show(&id)["status"], "running");
    let interrupt = sandbox.run(&["interrupt", &id]);
    let said = String::from_utf8_lossy(&interrupt.stderr);
    assert!(!interrupt.status.success());
    assert!(!said.contains("still running"), "{said}");

    sandbox.free_disk();
    let settled = sandbox.wait_status(&id, "completed");
    let lost = settled["lost_events"].as_u64().expect("lost_events");
    assert!(
        lost > 0,
        "lines were lost while the disk was full: {settled:#}"
    );
    assert_eq!(
        stored_lines(&sandbox, &id) + lost,
        emitted,
        "every line is stored or counted as lost"
    );
    sandbox.assert_nothing_left();
}
