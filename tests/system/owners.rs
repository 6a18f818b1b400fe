//! How requesters and followers treat a session's owner that cannot answer: stopped
//! (SIGSTOP) or killed (SIGKILL).

use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::harness::{parent_of, Sandbox};

/// The interrupt deadline requesters must answer within.
const INTERRUPT_DEADLINE: Duration = Duration::from_secs(10);

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

    let began = Instant::now();
    let output = sandbox.run(&["interrupt", &id]);
    let took = began.elapsed();
    kill(Pid::from_raw(owner), Signal::SIGCONT).expect("the owner is still there");

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(took < INTERRUPT_DEADLINE, "answered after {took:?}");
    assert!(stderr.contains(&format!("lulu pid {owner}")), "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
    // Continued, the owner carries out the request it finds waiting.
    sandbox.wait_status(&id, "interrupted");
    sandbox.assert_nothing_left();
}
