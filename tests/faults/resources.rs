//! The machine and the file under Lulu: a full disk, an outside reader of the database,
//! too few file descriptors, and the database deleted under a running owner.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::harness::{wait_until, Sandbox};
use crate::invariants::{assert_no_process_left, check_invariants, is_live, Transcripts};
use crate::world::World;

#[test]
fn a_full_disk_loses_no_line_uncounted_and_leaves_nothing_running() {
    let Some(sandbox) = Sandbox::new().on_small_disk("2m") else {
        println!("SKIPPED: mounting a small tmpfs is not permitted here (CI runs as root)");
        return;
    };
    let world = World::around(sandbox, &[]);
    world.ok(&["run", "SAY the disk still has room"]);

    // About 6 MB of tool output in one transcript line: more than the disk holds.
    // As a user runs it: without RUST_LOG, so only what Lulu says on its own counts.
    let mut command = world.lulu(&["run", "BASH head -c 3000000 /dev/zero | tr '\\0' x"]);
    command.env_remove("RUST_LOG");
    let full = world.run_command(command);
    let id = String::from_utf8_lossy(&full.stdout)
        .lines()
        .next()
        .map(str::to_owned);

    let session = id.as_ref().map(|id| world.show(id));
    let said = format!(
        "{}\n{}",
        String::from_utf8_lossy(&full.stderr),
        session
            .as_ref()
            .and_then(|session| session["last_error"].as_str())
            .unwrap_or_default()
    );
    assert!(
        said.contains("full") || said.contains("space"),
        "nobody said the disk is full: {full:?}\n{session:#?}\nowners log (tail):\n{}",
        world.owners_log_tail()
    );
    // Said as it happened, by the daemon to the client: not read back from a log that
    // the full disk may have cut short.
    assert!(
        String::from_utf8_lossy(&full.stderr).contains("could not be stored and"),
        "the run did not warn of the lost line: {full:?}"
    );
    check_invariants(&world, Transcripts::Exact);
}

/// How long the outside reader reads while sessions stream.
const OUTSIDE_READING: Duration = Duration::from_millis(2500);

#[test]
fn an_outside_reader_of_the_database_disturbs_nothing() {
    let world = World::new();
    world.ok(&["list"]);
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let db = world.db.clone();
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || read_until_stopped(&db, &stop))
    };
    let ids: Vec<String> = (0..3)
        .map(|n| world.detach(&format!("SLOW 30 #{n}")))
        .collect();

    // The fault's length, not a wait for a condition: the reader alone with the owners
    // (a `lulu` command opening the file meanwhile would shield them).
    std::thread::sleep(OUTSIDE_READING);
    stop.store(true, Ordering::Relaxed);
    let reads = reader.join().expect("the outside reader did not panic");
    assert!(reads > 0, "the outside reader never read");
    wait_until("the sessions settle", || {
        world
            .list()
            .iter()
            .all(|session| !is_live(&session["status"]))
    });
    let listed: Vec<String> = world
        .list()
        .iter()
        .filter_map(|session| session["id"].as_str().map(str::to_owned))
        .collect();
    let mut problems = Vec::new();
    for id in &ids {
        if !listed.contains(id) {
            problems.push(format!("session {id} is gone from the database"));
            continue;
        }
        let session = world.show(id);
        if session["status"] != "completed" {
            problems.push(format!(
                "session {id} is {}: {}",
                session["status"], session["last_error"]
            ));
        }
        let ticks = world
            .ok(&["logs", id])
            .lines()
            .filter(|line| line.contains("tick "))
            .count();
        if ticks != 30 {
            problems.push(format!("session {id} stored {ticks} of 30 ticks"));
        }
    }
    assert!(
        problems.is_empty(),
        "after {reads} outside reads:\n{}\nowners log (tail):\n{}",
        problems.join("\n"),
        world.owners_log_tail()
    );
    check_invariants(&world, Transcripts::Exact);
}

/// The query the outside reader runs.
const OUTSIDE_QUERY: &str =
    "SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM events)";

/// What `sqlite3 lulu.db 'SELECT ...'` in a loop does: open the file read-write (so
/// closing the last connection checkpoints and may remove the WAL), read, close; again
/// and again until `stop`. It is the `sqlite3` program where installed (any version a
/// user may have), else this build's SQLite. Returns how many reads it made.
fn read_until_stopped(db: &Path, stop: &AtomicBool) -> u64 {
    let cli = Command::new("sqlite3")
        .arg("-version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !cli {
        println!("no `sqlite3` program: the outside reader is this build's SQLite");
    }
    let mut reads = 0;
    while !stop.load(Ordering::Relaxed) {
        let read = if cli {
            Command::new("sqlite3")
                .arg(db)
                .arg(OUTSIDE_QUERY)
                .output()
                .is_ok_and(|output| output.status.success())
        } else {
            read_once(db)
        };
        if read {
            reads += 1;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    reads
}

/// One read through this build's SQLite, opened read-write like the `sqlite3` program.
fn read_once(db: &Path) -> bool {
    let Ok(connection) = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return false;
    };
    let _ = connection.busy_timeout(Duration::from_secs(5));
    connection
        .query_row(OUTSIDE_QUERY, [], |row| row.get::<_, i64>(0))
        .is_ok()
}

#[test]
fn running_out_of_file_descriptors_fails_cleanly_at_every_point() {
    let prlimit = Command::new("prlimit").arg("--version").output();
    if !prlimit.is_ok_and(|output| output.status.success()) {
        println!("SKIPPED: no `prlimit` program (util-linux) to lower the fd limit with");
        return;
    }
    let world = World::new();
    world.ok(&["list"]);
    let mut problems = Vec::new();
    for limit in (8..=40).step_by(2) {
        let nofile = format!("--nofile={limit}:{limit}");
        let mut args = vec!["run"];
        if limit % 4 == 0 {
            args.push("--detach");
        }
        args.push("SAY within limits");
        let command = world.wrapped(&["prlimit", &nofile, "--"], &args);
        let output = world.run_command(command);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("panicked"),
            "{limit} fds: a panic instead of an error: {stderr}"
        );
        if !output.status.success() {
            // Out of descriptors is no reason to call the file foreign or damaged.
            let said = stderr.to_lowercase();
            let clear = output.status.code() == Some(1)
                && !said.trim().is_empty()
                && !said.contains("not a lulu database")
                && !said.contains("damaged");
            if !clear {
                problems.push(format!(
                    "{limit} fds, {args:?}: not a clear error: {:?} {}",
                    output.status.code(),
                    stderr.trim()
                ));
            }
        }
        wait_until("the sessions settle", || {
            world
                .list()
                .iter()
                .all(|session| !is_live(&session["status"]))
        });
        // A daemon started under the limit keeps it: each round starts its own.
        world.stop_daemon();
        assert_no_process_left(&world);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    check_invariants(&world, Transcripts::Exact);
}

#[test]
fn deleting_the_database_under_a_running_owner_stops_its_agent_and_says_why() {
    let world = World::new();
    let id = world.detach("SLOW 600");
    world.wait_for_agent(&id);

    for suffix in ["", "-wal", "-shm"] {
        let mut path = world.db.clone().into_os_string();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }

    let began = Instant::now();
    while !world.marked().is_empty() {
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "the owner and its agent ran on for 20 s without their database: {:?}\nowners log (tail):\n{}",
            world.marked(),
            world.owners_log_tail()
        );
        crate::harness::reap_orphans();
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = world.owners_log_tail();
    assert!(
        log.lines()
            .any(|line| (line.contains("ERROR") || line.contains("WARN"))
                && (line.contains("lulu.db") || line.to_lowercase().contains("database"))),
        "the owner did not say its database is gone:\n{log}"
    );
    check_invariants(
        &world,
        Transcripts::NotCounted("the database holding the transcript was deleted"),
    );
}
