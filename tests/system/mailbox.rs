//! Requests to a session whose daemon this process cannot reach by socket (another
//! `$XDG_RUNTIME_DIR`, as from another login session, names another socket): they go
//! through the database's mailbox to the daemon that owns the run, with the same answers
//! and refusals as through the socket.

use std::process::Output;

use crate::harness::Sandbox;

/// Runs `lulu args` as a process that looks for the daemon's socket somewhere else.
fn out_of_reach(sandbox: &Sandbox, args: &[&str]) -> Output {
    let mut command = sandbox.lulu(args);
    command.env(
        "XDG_RUNTIME_DIR",
        sandbox.db.with_file_name("another-login"),
    );
    sandbox.run_command(command)
}

#[test]
fn of_two_approvals_through_the_mailbox_exactly_one_is_taken_and_the_other_is_told_why() {
    let sandbox = Sandbox::new();
    let id = sandbox.detach("PERMIT touch mailed.md");
    sandbox.wait_status(&id, "needs_approval");

    let outputs = std::thread::scope(|scope| {
        let answers: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| out_of_reach(&sandbox, &["approve", &id])))
            .collect();
        answers
            .into_iter()
            .map(|answer| answer.join().expect("no panic"))
            .collect::<Vec<Output>>()
    });

    let taken = outputs
        .iter()
        .filter(|output| output.status.success())
        .count();
    assert_eq!(
        taken,
        1,
        "{outputs:?}\ndaemon log:\n{}",
        sandbox.owners_log_tail()
    );
    let refused = outputs
        .iter()
        .find(|output| !output.status.success())
        .expect("one refused");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("already answered"), "{stderr}");
    sandbox.wait_status(&id, "completed");
    assert!(sandbox.work.join("mailed.md").exists(), "the tool ran");
    let refused_again = out_of_reach(&sandbox, &["approve", &id]);
    assert!(!refused_again.status.success());
    let stderr = String::from_utf8_lossy(&refused_again.stderr);
    assert!(stderr.contains("no pending permission request"), "{stderr}");
    sandbox.assert_nothing_left();
}

#[test]
fn a_follow_up_and_a_close_through_the_mailbox_reach_a_kept_open_run() {
    let sandbox = Sandbox::new();
    let id = sandbox
        .ok(&["run", "--detach", "--keep-open", "SAY first"])
        .trim()
        .to_owned();
    sandbox.wait_status(&id, "idle");

    let sent = out_of_reach(&sandbox, &["send", &id, "SAY second"]);
    assert!(
        sent.status.success(),
        "{sent:?}\n{}",
        sandbox.owners_log_tail()
    );
    sandbox.wait_for(&id, "a second turn", |session| session["num_turns"] == 2);
    sandbox.wait_status(&id, "idle");
    let closed = out_of_reach(&sandbox, &["close", &id]);
    assert!(closed.status.success(), "{closed:?}");

    let session = sandbox.wait_status(&id, "completed");
    assert_eq!(session["runs"].as_array().map(Vec::len), Some(1), "one run");
    sandbox.assert_nothing_left();
}
