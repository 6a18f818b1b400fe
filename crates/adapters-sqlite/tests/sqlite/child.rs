//! Child processes: this test binary re-executed in a role (the parent's side is
//! [`ChildProcess`]), so two processes really share one database file.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lulu_adapters_sqlite::{SqliteStore, StoreOptions};
use lulu_domain::ports::{SessionQuery, SessionStore as _};
use lulu_domain::testing::run_id;
use lulu_domain::SessionStatus;

use crate::fixture::{created, lines, moved};

const ROLE: &str = "LULU_SQLITE_TEST_CHILD_ROLE";
const DB: &str = "LULU_SQLITE_TEST_CHILD_DB";
const ARG: &str = "LULU_SQLITE_TEST_CHILD_ARG";
/// Marks the child's protocol lines among the test harness's own output.
const PREFIX: &str = "lulu-child: ";
const CHILD_TEST: &str = "child::acts_as_a_child_process_when_a_parent_test_asks";

/// Says one protocol line to the parent (stdout is line-buffered).
fn say(line: &str) {
    println!("{PREFIX}{line}");
}

#[test]
fn acts_as_a_child_process_when_a_parent_test_asks() {
    let Ok(role) = std::env::var(ROLE) else {
        return; // an ordinary test run: nothing to do
    };
    let db = PathBuf::from(std::env::var(DB).expect("the parent names the database"));
    let arg = std::env::var(ARG).unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        match role.as_str() {
            "hold-write-lock" => hold_write_lock(&db, arg.parse().expect("milliseconds")),
            "writer" => write_and_read(&db, arg.parse().expect("a session number")).await,
            "crash-writer" => write_until_killed(&db, arg.parse().expect("a session number")).await,
            other => panic!("unknown child role {other}"),
        }
    });
}

/// Takes the write lock with a raw connection, says `locked`, holds it for `millis`.
fn hold_write_lock(db: &Path, millis: u64) {
    let connection = rusqlite::Connection::open(db).expect("a raw connection");
    connection
        .execute_batch("BEGIN IMMEDIATE")
        .expect("the write lock");
    say("locked");
    // Holding the lock for a set time is the scenario under test, not a wait for state.
    std::thread::sleep(Duration::from_millis(millis));
    connection.execute_batch("COMMIT").expect("commit");
    say("released");
}

/// Saves and appends to session `n` while reading, 100 times; any error panics.
pub async fn write_and_read(db: &Path, n: u32) {
    let store = SqliteStore::open(StoreOptions::new(db))
        .await
        .expect("open");
    store.save(&created(n)).await.expect("save");
    for round in 0..100u64 {
        let status = if round % 2 == 0 {
            SessionStatus::Running
        } else {
            SessionStatus::Interrupting
        };
        store
            .save(&moved(n, status, i64::try_from(round).expect("small")))
            .await
            .expect("save");
        store
            .append_events(&lines(run_id(n), round * 20..(round + 1) * 20))
            .await
            .expect("append");
        store
            .list_sessions(&SessionQuery::default())
            .await
            .expect("list");
        store
            .events_after(run_id(n), Some(round * 10), 50)
            .await
            .expect("read");
    }
    say("done");
}

/// Appends batches and saves transitions of session `n` forever, saying what committed.
async fn write_until_killed(db: &Path, n: u32) {
    let store = SqliteStore::open(StoreOptions::new(db))
        .await
        .expect("open");
    store.save(&created(n)).await.expect("save");
    say("ready");
    let mut next = 0u64;
    for round in 1u32.. {
        store
            .append_events(&lines(run_id(n), next..next + 25))
            .await
            .expect("append");
        next += 25;
        say(&format!("committed {}", next - 1));
        let mut transition = moved(n, SessionStatus::Running, i64::from(round));
        transition.session.resume_count = round;
        store.save(&transition).await.expect("save");
        say(&format!("saved {round}"));
    }
}

/// A running child: its protocol lines arrive on a channel; it is killed and reaped on drop.
pub struct ChildProcess {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl ChildProcess {
    /// Starts this test binary as a child in `role`, on `db`, with `arg`.
    pub fn spawn(role: &str, db: &Path, arg: &str) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("the test binary"))
            .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(ROLE, role)
            .env(DB, db)
            .env(ARG, arg)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the child starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                // The harness prints the test's name without a line break before the
                // child's first line, so the prefix may sit mid-line.
                if let Some((_, said)) = line.split_once(PREFIX) {
                    if sender.send(said.to_owned()).is_err() {
                        return;
                    }
                }
            }
        });
        Self { child, lines }
    }

    /// The child's next line; panics if none comes within `timeout`.
    pub fn next_line(&self, timeout: Duration) -> String {
        self.lines
            .recv_timeout(timeout)
            .unwrap_or_else(|error| panic!("no line from the child within {timeout:?}: {error}"))
    }

    /// SIGKILLs the child, reaps it, and returns every line it said that was not read yet.
    pub fn kill(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The reader thread ends at end of file: the dead child's pipe is closed.
        self.lines.iter().collect()
    }

    /// Waits (polling, up to `timeout`) for the child to exit by itself.
    pub fn wait(mut self, timeout: Duration) -> (ExitStatus, Vec<String>) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("the child can be waited for") {
                return (status, self.lines.iter().collect());
            }
            assert!(
                Instant::now() < deadline,
                "the child did not exit within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
