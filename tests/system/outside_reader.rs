//! Another program reading the database while Lulu writes it: the file stays sound and
//! every session settles as it should. SQLite's safety depends on each owner holding its
//! POSIX locks on the file; a Lulu process that opened and closed the file outside SQLite
//! lost them, and a reader's close then checkpointed and deleted the WAL under it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::harness::{Sandbox, PATIENCE};

/// Sessions per try, and tries in a row.
const SESSIONS: usize = 20;
const TRIES: usize = 10;

#[test]
fn an_outside_reader_polling_the_database_never_damages_it_or_the_sessions() {
    for attempt in 1..=TRIES {
        let sandbox = Sandbox::new().env("LULU_MAX_RUNNING", "2");
        let reader = OutsideReader::start(&sandbox.db);

        let ids = sandbox.detach_all((0..SESSIONS).map(|n| format!("SAY reply {n}")));
        let settled = wait_until_all_settled(&sandbox, &ids);
        sandbox.assert_nothing_left();
        let reads = reader.stop();

        assert!(reads > 0, "try {attempt}: the outside reader never read");
        for (id, session) in ids.iter().zip(&settled) {
            assert_eq!(
                session["status"],
                "completed",
                "try {attempt}: session {id} did not complete: {session:#}\nowners log:\n{}",
                sandbox.owners_log_tail()
            );
        }
        assert_eq!(integrity(&sandbox.db), "ok", "try {attempt}");
    }
}

#[test]
fn a_running_owner_holds_sqlites_lock_on_the_database_file() {
    let sandbox = Sandbox::new();
    let id = sandbox.detach("SLOW 600");
    let agent = sandbox.wait_for_agent(&id);
    let owner = crate::harness::parent_of(agent).expect("the agent's parent is its owner");

    let inode = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&sandbox.db).unwrap());
    let locks = std::fs::read_to_string("/proc/locks").expect("procfs lists locks");
    let held = locks
        .lines()
        .any(|line| holds_posix_lock(line, owner, inode));

    assert!(
        held,
        "owner {owner} holds no lock on inode {inode}:\n{locks}"
    );
    sandbox.ok(&["interrupt", &id]);
    sandbox.assert_nothing_left();
}

/// Whether a `/proc/locks` line is a POSIX lock of `pid` on `inode`
/// (`1: POSIX  ADVISORY  READ 4242 fe:00:123456 1073741826 1073742335`).
fn holds_posix_lock(line: &str, pid: i32, inode: u64) -> bool {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (Some(kind), Some(owner), Some(file)) = (fields.get(1), fields.get(4), fields.get(5))
    else {
        return false;
    };
    *kind == "POSIX"
        && owner.parse::<i32>() == Ok(pid)
        && file.rsplit(':').next().and_then(|ino| ino.parse().ok()) == Some(inode)
}

/// Polls `show` for every session until none is live; returns their last views.
fn wait_until_all_settled(sandbox: &Sandbox, ids: &[String]) -> Vec<serde_json::Value> {
    let began = Instant::now();
    loop {
        let sessions: Vec<serde_json::Value> =
            serde_json::from_str(&sandbox.ok(&["list", "--json"])).expect("list --json is JSON");
        let live = sessions.iter().any(|session| {
            matches!(
                session["status"].as_str(),
                Some("queued" | "starting" | "running" | "interrupting")
            )
        });
        if !live && sessions.len() == ids.len() {
            return ids.iter().map(|id| sandbox.show(id)).collect();
        }
        assert!(
            began.elapsed() < PATIENCE * 4,
            "sessions did not settle: {sessions:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Another program on the same file, like `sqlite3 lulu.db 'SELECT ...'` every 100 ms:
/// each read opens a connection, reads, and closes it. A process of its own (Python's
/// `sqlite3`, the library most tools use), so its closing connection tries to checkpoint
/// and delete the WAL exactly as an outside tool's does.
struct OutsideReader {
    child: Child,
}

/// Reads every 100 ms until stdin closes; prints one line per successful read.
const READER: &str = r#"
import os, sqlite3, sys, threading, time
db = sys.argv[1]
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
while not stop.is_set():
    if os.path.exists(db):
        try:
            connection = sqlite3.connect("file:" + db + "?mode=rw", uri=True, timeout=0.5)
            connection.execute("SELECT count(*) FROM sessions").fetchone()
            connection.close()
            print("read", flush=True)
        except sqlite3.Error:
            pass
    time.sleep(0.1)
"#;

impl OutsideReader {
    fn start(db: &Path) -> Self {
        let child = Command::new("python3")
            .args(["-c", READER])
            .arg(db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs the outside reader");
        Self { child }
    }

    /// Stops reading; returns how many reads succeeded.
    fn stop(mut self) -> usize {
        drop(self.child.stdin.take());
        let mut out = String::new();
        let stdout = self.child.stdout.take().expect("piped");
        std::io::Read::read_to_string(&mut { stdout }, &mut out).expect("the reader's output");
        let status = self.child.wait().expect("the reader is reaped");
        assert!(status.success(), "the outside reader failed: {status}");
        out.lines().filter(|line| *line == "read").count()
    }
}

impl Drop for OutsideReader {
    fn drop(&mut self) {
        // Only reached with the reader still running when a test fails.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `PRAGMA integrity_check` by a connection of its own.
fn integrity(db: &Path) -> String {
    let connection = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .expect("the database opens");
    connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity_check runs")
}

#[test]
fn a_lock_line_is_read_by_pid_and_inode() {
    let line = "7: POSIX  ADVISORY  READ 4242 fe:00:123456 1073741826 1073742335";
    assert!(holds_posix_lock(line, 4242, 123_456));
    assert!(!holds_posix_lock(line, 4243, 123_456));
    assert!(!holds_posix_lock(line, 4242, 12_345));
    assert!(!holds_posix_lock(
        "1: FLOCK  ADVISORY  WRITE 4242 fe:00:123456 0 EOF",
        4242,
        123_456
    ));
}
