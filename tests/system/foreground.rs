//! A foreground `lulu run` is a client of the daemon: it follows the run the daemon
//! owns. Killing the client leaves the run going; SIGTERM and Ctrl-C interrupt it, also
//! while it still waits for a run slot; the stream has every line once, in order.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

use crate::harness::{reap_orphans, wait_until, Sandbox};

/// Sends `signal` to a spawned `lulu`.
fn signal(child: &std::process::Child, signal: Signal) {
    kill(Pid::from_raw(child.id().cast_signed()), signal).expect("lulu is alive");
}

/// Waits until a session of the sandbox runs.
fn wait_until_running(sandbox: &Sandbox) {
    wait_until("the session runs", || {
        sandbox
            .ok(&["list", "--json"])
            .contains(r#""status": "running""#)
    });
}

/// The id a foreground run printed first.
fn first_line(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()
        .expect("the id first")
        .to_owned()
}

#[test]
fn a_sigkilled_foreground_client_leaves_the_run_going_and_nothing_is_lost() {
    let sandbox = Sandbox::new();
    let child = sandbox.spawn(&["run", "SLOW 30"]);
    wait_until_running(&sandbox);

    signal(&child, Signal::SIGKILL);
    let output = sandbox.finish(child);
    reap_orphans();

    let id = first_line(&output);
    let session = sandbox.wait_status(&id, "completed");
    assert_eq!(session["lost_events"], 0, "{session:#}");
    let logs = sandbox.ok(&["logs", &id]);
    assert!(logs.contains("tick 30."), "{logs}");
    sandbox.assert_nothing_left();
}

#[test]
fn the_foreground_stream_has_every_line_once_and_in_order() {
    let sandbox = Sandbox::new().env("FAKE_CLAUDE_TICK_MS", "5");
    let output = sandbox.run(&["run", "SLOW 200"]);
    assert!(output.status.success(), "{output:?}");

    let text = String::from_utf8_lossy(&output.stdout);
    let ticks: Vec<u32> = text
        .lines()
        .filter_map(|line| line.strip_prefix("tick "))
        .map(|rest| rest.trim_end_matches('.').parse().expect("a tick number"))
        .collect();
    assert_eq!(ticks, (1..=200).collect::<Vec<_>>(), "{text}");
    sandbox.assert_nothing_left();
}

#[test]
fn sigterm_to_a_foreground_client_interrupts_its_run() {
    let sandbox = Sandbox::new();
    let child = sandbox.spawn(&["run", "SLOW 600"]);
    wait_until_running(&sandbox);

    signal(&child, Signal::SIGTERM);
    let output = sandbox.finish(child);

    assert_eq!(output.status.code(), Some(130), "{output:?}");
    assert_eq!(sandbox.show(&first_line(&output))["status"], "interrupted");
    sandbox.assert_nothing_left();
}

#[test]
fn ctrl_c_on_a_run_waiting_for_a_slot_interrupts_it_at_once() {
    let sandbox = Sandbox::new().env("LULU_MAX_RUNNING", "1");
    let holder = sandbox.detach("SLOW 600");
    sandbox.wait_for_agent(&holder);
    let child = sandbox.spawn(&["run", "SAY never"]);
    wait_until("the second session waits", || {
        let listed: Value = serde_json::from_str(&sandbox.ok(&["list", "--json"])).unwrap();
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|session| session["status"] == "queued")
    });

    signal(&child, Signal::SIGINT);
    let output = sandbox.finish(child);

    assert_eq!(output.status.code(), Some(130), "{output:?}");
    let id = first_line(&output);
    let session = sandbox.show(&id);
    assert_eq!(session["status"], "interrupted", "{session:#}");
    assert_eq!(sandbox.show(&holder)["status"], "running");
    sandbox.ok(&["interrupt", &holder]);
    sandbox.assert_nothing_left();
}

#[test]
fn a_hangup_of_the_foreground_client_leaves_the_run_going() {
    let sandbox = Sandbox::new().env("FAKE_CLAUDE_TICK_MS", "20");
    let child = sandbox.spawn(&["run", "SLOW 40"]);
    wait_until_running(&sandbox);

    // Its terminal closed: the client goes, the run does not.
    signal(&child, Signal::SIGHUP);
    let output = sandbox.finish(child);
    reap_orphans();

    let id = first_line(&output);
    let session = sandbox.wait_status(&id, "completed");
    assert_eq!(session["last_error"], Value::Null, "{session:#}");
    assert!(sandbox.ok(&["logs", &id]).contains("tick 40."));
    sandbox.assert_nothing_left();
}

#[test]
fn a_second_ctrl_c_stops_the_run_forcefully_without_waiting_for_the_grace() {
    let sandbox = Sandbox::new();
    let child = sandbox.spawn(&["run", "IGNORE_INT SLOW 600"]);
    wait_until_running(&sandbox);
    let id = sandbox.wait_for_newest_session();

    // The agent ignores the graceful stop: the first Ctrl-C leaves it interrupting
    // for the grace period (2 s), the second one asks for the forceful stop now.
    signal(&child, Signal::SIGINT);
    sandbox.wait_status(&id, "interrupting");
    signal(&child, Signal::SIGINT);
    let output = sandbox.finish(child);

    assert_eq!(output.status.code(), Some(130), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("forcing"), "{stderr}");
    assert!(!stderr.contains("failed"), "{stderr}");
    let session = sandbox.show(&id);
    assert_eq!(session["status"], "interrupted", "{session:#}");
    assert_eq!(session["last_error"], Value::Null, "{session:#}");
    let log = sandbox.owners_log_tail();
    assert!(
        log.contains("asked it to stop the run forcefully now"),
        "the daemon hurried the interrupt under way:\n{log}"
    );
    sandbox.assert_nothing_left();
}
