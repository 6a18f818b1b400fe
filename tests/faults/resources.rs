//! The machine and the file under Lulu: a full disk, an outside reader of the database,
//! too few file descriptors, and the database deleted under a running owner.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::harness::wait_until;
use crate::invariants::{assert_no_process_left, check_invariants, is_live, Transcripts};
use crate::world::World;

/// A small tmpfs mounted for one test, unmounted (and its mount point removed) on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (as `mount -o size=` reads it); `None`, with the reason
    /// printed, where this process may not mount.
    fn mount(size: &str) -> Option<Self> {
        if !nix::unistd::geteuid().is_root() {
            println!("SKIPPED: mounting a small tmpfs needs root (CI runs the suite as root)");
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("lulu-full-disk-")
            .tempdir()
            .expect("a mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match mounted {
            Ok(output) if output.status.success() => Some(Self { dir }),
            Ok(output) => {
                println!(
                    "SKIPPED: mounting a tmpfs is not permitted here: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
                None
            }
            Err(error) => {
                println!("SKIPPED: cannot run mount: {error}");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|status| status.success());
        if !unmounted {
            // Something still holds it open: detach it now, it goes when released.
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

#[test]
fn a_full_disk_loses_no_line_uncounted_and_leaves_nothing_running() {
    let Some(disk) = SmallDisk::mount("2m") else {
        return;
    };
    let mut world = World::new();
    world.set_db(disk.path().join("lulu.db"));
    world.ok(&["run", "SAY the disk still has room"]);

    // About 6 MB of tool output in one transcript line: more than the disk holds.
    // As a user runs it: without RUST_LOG, so only what Lulu says on its own counts.
    let mut command = world.lulu(&["run", "BASH head -c 3000000 /dev/zero | tr '\\0' x"]);
    command.env_remove("RUST_LOG");
    let full = world.finish(world.spawn_command(command));
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
    check_invariants(&world, Transcripts::Exact);
    drop(world);
}

#[test]
fn an_outside_reader_of_the_database_disturbs_nothing() {
    let world = World::new();
    world.ok(&["list"]);
    let ids: Vec<String> = (0..3)
        .map(|n| world.detach(&format!("SLOW 30 #{n}")))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    // Short reads, reads held a while, and one read held for the whole run.
    let readers: Vec<_> = [
        Duration::from_millis(1),
        Duration::from_millis(300),
        Duration::from_secs(3600),
    ]
    .into_iter()
    .map(|hold| {
        let db = world.db.clone();
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || read_until_stopped(&db, hold, &stop))
    })
    .collect();

    for id in &ids {
        world.wait_status(id, "completed");
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        let reads = reader.join().expect("the outside reader did not panic");
        assert!(reads > 0, "the outside reader never read");
    }
    for id in &ids {
        let ticks = world
            .ok(&["logs", id])
            .lines()
            .filter(|line| line.contains("tick "))
            .count();
        assert_eq!(ticks, 30, "session {id}");
    }
    check_invariants(&world, Transcripts::Exact);
}

/// What `sqlite3 lulu.db` does: open the file read-write (so closing the last
/// connection checkpoints), read in a transaction held for `hold`, close; again and
/// again. Returns how many reads it made.
fn read_until_stopped(db: &PathBuf, hold: Duration, stop: &AtomicBool) -> u64 {
    let mut reads = 0;
    while !stop.load(Ordering::Relaxed) {
        let Ok(connection) = Connection::open_with_flags(
            db,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        ) else {
            continue;
        };
        let _ = connection.busy_timeout(Duration::from_secs(5));
        let read = connection.execute_batch("BEGIN").and_then(|()| {
            connection.query_row(
                "SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM events)",
                [],
                |row| row.get::<_, i64>(0),
            )
        });
        if read.is_ok() {
            reads += 1;
        }
        let began = Instant::now();
        while began.elapsed() < hold && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = connection.execute_batch("COMMIT");
        drop(connection);
    }
    reads
}

#[test]
fn running_out_of_file_descriptors_fails_cleanly_at_every_point() {
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
        let output = world.finish(world.spawn_command(command));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("panicked"),
            "{limit} fds: a panic instead of an error: {stderr}"
        );
        if !output.status.success() {
            let said = stderr.to_lowercase();
            let clear = output.status.code() == Some(1)
                && !said.contains("not a lulu database")
                && (said.contains("open files") || said.contains("descriptor"));
            if !clear {
                problems.push(format!(
                    "{limit} fds, {args:?}: not a clear error about file descriptors: {:?} {}",
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
