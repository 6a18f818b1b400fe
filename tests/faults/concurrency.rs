//! Races between `lulu` processes, and the shared limit on live runs.

use std::time::{Duration, Instant};

use crate::harness::{wait_until, PATIENCE};
use crate::invariants::{check_invariants, is_live, now_ns, Transcripts};
use crate::world::{kill_and_wait, World};

#[test]
fn first_commands_racing_to_create_the_database_all_succeed() {
    let world = World::new();
    let starters: Vec<_> = (0..8)
        .map(|n| world.spawn(&["run", "--detach", &format!("SAY racer {n}")]))
        .collect();
    for starter in starters {
        let output = world.finish(starter);
        assert!(output.status.success(), "{output:?}");
    }
    wait_until("every racer completed", || {
        let sessions = world.list();
        sessions.len() == 8
            && sessions
                .iter()
                .all(|session| session["status"] == "completed")
    });
    check_invariants(&world, Transcripts::Exact);
}

#[test]
fn racing_lifecycle_commands_on_one_session_leave_it_consistent() {
    let world = World::new();
    let id = world.detach("SLOW 600");
    world.wait_for_agent(&id);

    let racers: Vec<_> = [
        vec!["interrupt", &id],
        vec!["interrupt", &id],
        vec!["resume", "--detach", &id, "SAY again"],
        vec!["resume", "--detach", &id, "SAY once more"],
        vec!["rm", "--force", &id],
        vec!["logs", &id],
        vec!["show", &id],
    ]
    .iter()
    .map(|args| world.spawn(args))
    .collect();
    let outputs: Vec<_> = racers
        .into_iter()
        .map(|racer| world.finish(racer))
        .collect();
    for output in &outputs {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{output:?}");
    }

    wait_until("the session is settled or deleted", || {
        let sessions = world.list();
        sessions.iter().all(|session| !is_live(&session["status"]))
    });
    // A resume may follow the other's run once that ended; what must never happen is a
    // resume that ran without saying so, or two runs of the session at once.
    let resumes_taken = outputs[2..4]
        .iter()
        .filter(|output| output.status.success())
        .count();
    if let Some(session) = world.list().first() {
        let session = world.show(session["id"].as_str().expect("an id"));
        assert_eq!(
            session["resume_count"].as_u64(),
            u64::try_from(resumes_taken).ok(),
            "every resume that ran said so, and only those: {session:#}"
        );
        let runs = session["runs"].as_array().expect("the runs");
        for pair in runs.windows(2) {
            let (ended, next_started) =
                (pair[0]["ended_at"].as_str(), pair[1]["started_at"].as_str());
            assert!(
                ended.is_some_and(|ended| Some(ended) <= next_started),
                "two runs of one session overlapped: {session:#}"
            );
        }
    }
    check_invariants(&world, Transcripts::Exact);
}

#[test]
fn the_run_limit_holds_and_queued_sessions_can_be_interrupted_or_lose_their_owner() {
    let world = World::with_env(&[("LULU_MAX_RUNNING", "2")]);
    // One daemon owns every session.
    let ids: Vec<String> = (0..6)
        .map(|n| world.detach(&format!("SLOW 60 #{n}")))
        .collect();
    let daemons = world.daemons();
    assert_eq!(daemons.len(), 1, "one daemon owns them all: {daemons:?}");
    wait_until("two run and at least two wait", || {
        let sessions = world.list();
        let running = sessions.iter().filter(|s| s["status"] == "running").count();
        let queued = sessions.iter().filter(|s| s["status"] == "queued").count();
        running == 2 && queued >= 2
    });
    let queued: Vec<String> = world
        .list()
        .iter()
        .filter(|session| session["status"] == "queued")
        .map(|session| session["id"].as_str().expect("an id").to_owned())
        .collect();

    let interrupted = world.run(&["interrupt", &queued[0]]);
    assert!(interrupted.status.success(), "{interrupted:?}");
    assert_eq!(world.show(&queued[0])["status"], "interrupted");

    // The daemon dies with two running and the rest queued: every one of them is
    // recovered as interrupted (the queued ones never hold up the run slots).
    let live_at_kill: Vec<String> = world
        .list()
        .iter()
        .filter(|session| is_live(&session["status"]))
        .map(|session| session["id"].as_str().expect("an id").to_owned())
        .collect();
    let killed_at = now_ns();
    kill_and_wait(daemons[0]);

    let mut most_live = 0;
    let began = Instant::now();
    loop {
        let sessions = world.list();
        let live = sessions
            .iter()
            .filter(|s| {
                matches!(
                    s["status"].as_str(),
                    Some("starting" | "running" | "interrupting")
                )
            })
            .count();
        most_live = most_live.max(live);
        if sessions.iter().all(|session| !is_live(&session["status"])) {
            break;
        }
        assert!(
            began.elapsed() < PATIENCE * 2,
            "never settled: {sessions:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(most_live <= 2, "{most_live} ran at once under a limit of 2");
    for id in &ids {
        let status = world.show(id)["status"].clone();
        if *id == queued[0] || live_at_kill.contains(id) {
            assert_eq!(status, "interrupted", "session {id}");
        } else {
            assert!(
                status == "completed" || status == "interrupted",
                "session {id} is {status}"
            );
        }
    }
    check_invariants(&world, Transcripts::OwnerKilledAt(killed_at));
}
