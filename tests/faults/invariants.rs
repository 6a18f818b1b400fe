//! What must hold after every fault, whatever the fault was.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use serde_json::Value;

use crate::accounting::{emitted_by_session, stored_events, tally, Emitted};
use crate::harness;
use crate::world::World;

/// How long the processes of a settled scenario may take to be gone: the harness's
/// generous patience, since a loaded machine schedules the last reaps late.
const LEFTOVER_PATIENCE: Duration = harness::PATIENCE;

/// Lines written this long before their owner was killed must have been stored.
const STORE_GRACE: Duration = Duration::from_millis(1500);

/// The statuses of a session that still has (or waits for) a live agent.
const LIVE: &[&str] = &[
    "queued",
    "starting",
    "running",
    "needs_approval",
    "idle",
    "interrupting",
];

/// Whether a session status (as JSON) still has, or waits for, a live agent.
pub fn is_live(status: &Value) -> bool {
    status.as_str().is_some_and(|status| LIVE.contains(&status))
}

/// How a scenario's transcripts must add up.
#[derive(Debug, Clone, Copy)]
pub enum Transcripts {
    /// Every emitted line is stored, or counted as lost on its session.
    Exact,
    /// The owner was killed (SIGKILL) at this instant (ns since the epoch): what it had not
    /// stored died with it, so lines may be missing, but only as a tail of the
    /// transcript and only those written in the last [`STORE_GRACE`] before the kill
    /// (unless they are counted as lost).
    OwnerKilledAt(u64),
    /// Lines cannot be counted here (the reason is printed).
    NotCounted(&'static str),
}

/// Checks everything that must hold once a scenario is over: a next command recovers
/// whatever a dead owner left; every transcript line is accounted for; no process of
/// the test is left, nor a zombie; the database is sound and no session is live.
pub fn check_invariants(world: &World, transcripts: Transcripts) {
    let sessions = world.list();
    check_transcripts(world, &sessions, transcripts);
    world.stop_daemon();
    assert_no_process_left(world);
    check_database(world);
}

/// Waits until no process carries the world's marker and no zombie is left.
pub fn assert_no_process_left(world: &World) {
    let began = Instant::now();
    loop {
        harness::reap_orphans();
        let marked = world.marked();
        let zombies = zombies_of(&marked);
        if marked.is_empty() && zombies.is_empty() {
            return;
        }
        if began.elapsed() > LEFTOVER_PATIENCE {
            let message = format!(
                "processes left behind: {}; unreaped zombies: {}\nowners log (tail):\n{}",
                harness::describe(&marked),
                harness::describe(&zombies),
                world.owners_log_tail()
            );
            world.kill_everything();
            panic!("{message}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Zombies whose parent is one of `parents` (so nobody reaps them while it lives).
fn zombies_of(parents: &[i32]) -> Vec<i32> {
    let parents: HashSet<i32> = parents.iter().copied().collect();
    harness::all_pids()
        .into_iter()
        .filter(|pid| {
            harness::stat(*pid).is_some_and(|(ppid, state)| state == 'Z' && parents.contains(&ppid))
        })
        .collect()
}

/// `PRAGMA integrity_check` is ok and no session is live; read only, with no Lulu
/// process left to disturb (and never through anything but SQLite).
fn check_database(world: &World) {
    let connection = Connection::open_with_flags(
        &world.db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap_or_else(|error| panic!("cannot open {}: {error}", world.db.display()));
    let mut statement = connection
        .prepare("PRAGMA integrity_check")
        .expect("integrity_check prepares");
    let problems: Vec<String> = statement
        .query_map([], |row| row.get(0))
        .and_then(Iterator::collect)
        .expect("integrity_check runs");
    assert_eq!(
        problems,
        ["ok"],
        "integrity_check of {}",
        world.db.display()
    );
    let mut statement = connection
        .prepare("SELECT id, status FROM sessions")
        .expect("sessions are readable");
    let live: Vec<(String, String)> = statement
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .expect("sessions are readable")
        .into_iter()
        .filter(|(_, status)| LIVE.contains(&status.as_str()))
        .collect();
    assert!(
        live.is_empty(),
        "sessions live with no process of the test left: {live:?}\nowners log (tail):\n{}",
        world.owners_log_tail()
    );
}

/// Every emitted line of every listed session is stored or counted as lost.
fn check_transcripts(world: &World, sessions: &[Value], transcripts: Transcripts) {
    if let Transcripts::NotCounted(why) = transcripts {
        println!("transcript accounting skipped: {why}");
        return;
    }
    let emitted = emitted_by_session(&world.emitted);
    for session in sessions {
        let id = session["id"].as_str().expect("sessions have ids");
        let Some(lines) = emitted.get(id) else {
            continue;
        };
        let stored = stored_events(&world.ok(&["logs", id, "--json"]));
        let shown = world.show(id);
        // `lost_events` is new; until every build has it, its absence counts as 0.
        let lost = shown["lost_events"].as_u64().unwrap_or(0);
        let tally = tally(lines, &stored);
        let context = || {
            format!(
                "session {id} ({}): {} lines emitted, stored events {:?}, lost_events {lost}\nowners log (tail):\n{}",
                shown["status"],
                lines.len(),
                stored.iter().map(|event| event.kind.as_str()).collect::<Vec<_>>(),
                world.owners_log_tail()
            )
        };
        assert!(
            tally.unexplained.is_empty(),
            "stored events no emitted line accounts for (repeats?): {:?}\n{}",
            tally.unexplained,
            context()
        );
        let missing = tally.missing();
        if u64::try_from(missing).unwrap_or(u64::MAX) <= lost {
            continue;
        }
        match transcripts {
            Transcripts::Exact | Transcripts::NotCounted(_) => panic!(
                "{missing} emitted lines neither stored nor counted as lost (line: bytes {:?})\n{}",
                missing_lines(lines, &tally.stored)
                    .into_iter()
                    .map(|index| (index, lines[index].bytes))
                    .collect::<Vec<_>>(),
                context()
            ),
            Transcripts::OwnerKilledAt(killed_at) => {
                // Lines that stand for no event (partial messages) take no part: they
                // are never stored, so they are "stored" whenever they were written.
                let counted: Vec<bool> = lines
                    .iter()
                    .zip(&tally.stored)
                    .filter(|(line, _)| !line.expected.is_empty())
                    .map(|(_, stored)| *stored)
                    .collect();
                let first_missing = counted.iter().position(|stored| !stored);
                let gap = first_missing.is_some_and(|first| counted[first..].contains(&true));
                assert!(
                    !gap,
                    "a line is missing before lines that were stored: {counted:?}\n{}",
                    context()
                );
                let grace = u64::try_from(STORE_GRACE.as_nanos()).unwrap_or(u64::MAX);
                let late_enough = killed_at.saturating_sub(grace);
                let early: Vec<usize> = missing_lines(lines, &tally.stored)
                    .into_iter()
                    .filter(|index| lines[*index].at_ns < late_enough)
                    .collect();
                assert!(
                    early.is_empty(),
                    "lines written over {STORE_GRACE:?} before the owner was killed were never stored: {early:?}\n{}",
                    context()
                );
            }
        }
    }
}

fn missing_lines(lines: &[Emitted], stored: &[bool]) -> Vec<usize> {
    (0..lines.len()).filter(|index| !stored[*index]).collect()
}

/// Now, in ns since the epoch (the clock fake-claude stamps its lines with).
pub fn now_ns() -> u64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970");
    u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
}
