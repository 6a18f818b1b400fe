//! How requesters and followers treat a session's owner that cannot answer: stopped
//! (SIGSTOP) or killed (SIGKILL).

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::harness::{parent_of, Sandbox};

/// Starts a detached `prompt` and returns its id and its owner's pid.
fn detached_with_owner(sandbox: &Sandbox, prompt: &str) -> (String, i32) {
    let id = sandbox.detach(prompt);
    let agent = sandbox.wait_for_agent(&id);
    let owner = parent_of(agent).expect("the agent has its owner as parent");
    (id, owner)
}

#[test]
fn interrupting_a_session_whose_owner_is_stopped_says_so_within_the_deadline() {
    let sandbox = Sandbox::new();
    let (id, owner) = detached_with_owner(&sandbox, "SLOW 600");
    kill(Pid::from_raw(owner), Signal::SIGSTOP).expect("the owner runs");

    let output = sandbox.run(&["interrupt", &id]);
    kill(Pid::from_raw(owner), Signal::SIGCONT).expect("the owner is still there");

    // Told the owner is stopped, not that it did not answer: found before the deadline.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("lulu pid {owner}")), "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
    // Continued, the owner carries out the request it finds waiting.
    sandbox.wait_status(&id, "interrupted");
    sandbox.assert_nothing_left();
}

#[test]
fn logs_follow_ends_with_the_recovered_status_when_the_owner_is_killed() {
    let sandbox = Sandbox::new();
    let (id, owner) = detached_with_owner(&sandbox, "SLOW 600");
    let follower = sandbox.spawn(&["logs", "--follow", &id]);
    // The follower is tailing by now (it started before these ticks were stored).
    crate::harness::wait_until("a few ticks are stored", || {
        sandbox.ok(&["logs", &id]).contains("tick 3.")
    });

    kill(Pid::from_raw(owner), Signal::SIGKILL).expect("the owner runs");
    let output = sandbox.finish(follower);

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    let last = stdout.trim_end().lines().last().unwrap_or_default();
    assert!(last.starts_with("interrupted · its owner"), "{stdout}");
    assert!(last.contains(&format!("lulu pid {owner}")), "{stdout}");
    assert_eq!(sandbox.show(&id)["status"], "interrupted");
    sandbox.assert_nothing_left();
}

#[test]
fn an_owner_reaps_a_double_forked_orphan_that_exits_while_it_lives() {
    let sandbox = Sandbox::new();
    // The tool's subshell starts `sleep` in the background and exits: `sleep` is orphaned
    // and re-parented to the owner (a subreaper), where it exits while the run goes on.
    let (id, owner) = detached_with_owner(
        &sandbox,
        "BASH (sleep 0.3 & echo $! > orphan.pid); sleep 300",
    );
    let pid_file = sandbox.work.join("orphan.pid");
    let mut orphan = 0;
    crate::harness::wait_until("the orphan's pid is written", || {
        orphan = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0);
        orphan > 0
    });

    crate::harness::wait_until("the orphan is reaped", || !crate::harness::exists(orphan));
    assert!(crate::harness::exists(owner), "the owner still lives");
    assert_eq!(sandbox.show(&id)["status"], "running");
    sandbox.ok(&["interrupt", &id]);
    sandbox.assert_nothing_left();
}
