//! Several `lulu` processes on one database: control through the mailbox, live tails,
//! recovery after an owner dies, and the shared run limit.

use std::time::{Duration, Instant};

use crate::harness::Sandbox;

#[test]
fn an_interrupt_from_another_process_lands_gracefully() {
    let sandbox = Sandbox::new();
    let id = sandbox.detach("SLOW 600");
    sandbox.wait_status(&id, "running");

    // Interrupted, not timed out, and gracefully (no error stored); how fast, the
    // benchmark says.
    sandbox.interrupt_cleanly(&id);
    sandbox.assert_nothing_left();
}

#[test]
fn logs_follow_from_a_third_process_streams_live_and_ends_with_the_run() {
    let sandbox = Sandbox::new();
    let id = sandbox.detach("SLOW 15");
    sandbox.wait_status(&id, "running");

    let follower = sandbox.spawn(&["logs", "--follow", &id]);
    let output = sandbox.finish(follower);

    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("tick 1."), "{text}");
    assert!(text.contains("tick 15."), "{text}");
    assert!(
        text.trim_end().lines().last().unwrap().starts_with('✓'),
        "ends with the result:\n{text}"
    );
    assert_eq!(
        sandbox.show(&id)["status"],
        "completed",
        "follow ended with the run"
    );
}

#[test]
fn killing_the_owner_of_a_running_session_is_recovered_by_the_next_command() {
    let sandbox = Sandbox::new();
    let id = sandbox.detach("BASH sleep 300");
    let agent = sandbox.wait_for_agent(&id);
    crate::harness::wait_until("the tool runs", || {
        crate::harness::has_descendant_named(agent, "sleep")
    });
    let owner = crate::harness::parent_of(agent).expect("the agent has its owner as parent");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(owner),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    crate::harness::wait_until("the owner is gone", || {
        crate::harness::reap_orphans();
        !crate::harness::exists(owner)
    });
    let listed = sandbox.ok(&["list"]);

    assert!(listed.contains("interrupted"), "{listed}");
    let session = sandbox.show(&id);
    assert_eq!(session["status"], "interrupted");
    let reason = session["last_error"].as_str().unwrap();
    assert!(reason.contains("died"), "{reason}");
    sandbox.assert_nothing_left();
}

#[test]
fn fifty_sessions_under_a_limit_of_eight_all_complete_and_never_more_than_eight_run() {
    let sandbox = Sandbox::new().env("LULU_MAX_RUNNING", "8");
    let ids = sandbox.detach_all((0..50).map(|n| format!("SLOW 3 #{n}")));

    let mut most_running = 0;
    let began = Instant::now();
    loop {
        let listed: serde_json::Value =
            serde_json::from_str(&sandbox.ok(&["list", "--json"])).unwrap();
        let sessions = listed.as_array().unwrap();
        let running = sessions
            .iter()
            .filter(|session| {
                matches!(
                    session["status"].as_str(),
                    Some("starting" | "running" | "interrupting")
                )
            })
            .count();
        most_running = most_running.max(running);
        if sessions
            .iter()
            .all(|session| session["status"] == "completed")
            && sessions.len() == 50
        {
            break;
        }
        assert!(
            began.elapsed() < Duration::from_secs(120),
            "not all completed: {listed:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    assert!(most_running <= 8, "{most_running} ran at once");
    assert!(most_running >= 2, "they did run side by side");
    for id in &ids {
        let lines = sandbox.ok(&["logs", id, "--json"]);
        let ticks = lines
            .lines()
            .filter(|line| line.contains(r#""kind":"assistant_text""#) && line.contains("tick "))
            .count();
        assert_eq!(ticks, 3, "session {id} lost events:\n{lines}");
        assert!(lines.lines().last().unwrap().contains(r#""kind":"result""#));
    }
    sandbox.assert_nothing_left();
}
