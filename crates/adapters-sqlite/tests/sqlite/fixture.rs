//! Shared fixtures: a database in a temp dir, sample domain values, raw inspection.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use lulu_adapters_sqlite::{SqliteStore, StoreOptions};
use lulu_domain::lifecycle::RunChange;
use lulu_domain::ports::{OwnerLease, StoreError};
use lulu_domain::ports::{SessionStore as _, SessionWrite};
use lulu_domain::testing::{epoch, run_id, session_id, spec};
use lulu_domain::{
    AgentEvent, OwnerId, Run, RunId, RunKind, Session, SessionId, SessionStatus, TranscriptEntry,
};
use tempfile::TempDir;

/// A temp dir holding one database file path (the file is created by the first open).
pub struct TempDb {
    /// Removed with everything in it when the fixture is dropped.
    pub dir: TempDir,
    /// `<dir>/lulu.db`.
    pub path: PathBuf,
}

impl TempDb {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("lulu.db");
        Self { dir, path }
    }

    pub fn options(&self) -> StoreOptions {
        StoreOptions::new(&self.path)
    }

    pub async fn open(&self) -> SqliteStore {
        SqliteStore::open(self.options())
            .await
            .expect("the store opens")
    }

    pub async fn open_owned_by(&self, owner: OwnerId) -> SqliteStore {
        SqliteStore::open(self.options().owner(owner))
            .await
            .expect("the store opens")
    }
}

/// A raw connection for looking at the file the way another tool would.
pub fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("a raw connection")
}

/// `PRAGMA integrity_check`'s verdict, "ok" when the file is sound.
pub fn integrity(path: &Path) -> String {
    raw(path)
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity_check runs")
}

/// A database of 300 sessions whose sessions table's root page was scribbled over (with
/// SQLite closed), so every read of a session meets the damage; returns the file's bytes.
pub async fn damaged_sessions_table(db: &TempDb) -> Vec<u8> {
    let store = db.open().await;
    for n in 1..=300 {
        store_session(&store, n).await;
    }
    store.close().await;
    damage_root_page(&db.path, "sessions")
}

/// Scribbles over the root page of `table`; returns the file's damaged bytes.
fn damage_root_page(path: &Path, table: &str) -> Vec<u8> {
    let (page_size, root): (usize, usize) = raw(path)
        .query_row(
            "SELECT (SELECT page_size FROM pragma_page_size()), \
                    (SELECT rootpage FROM sqlite_schema WHERE name = ?1)",
            [table],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .expect("the table's root page");
    assert!(root > 1, "{table} has a page of its own");
    let mut bytes = std::fs::read(path).expect("the file is readable");
    let start = (root - 1) * page_size;
    bytes[start..start + page_size].fill(0xA5);
    std::fs::write(path, &bytes).expect("the file is writable");
    bytes
}

/// `n` as an owner id.
pub fn owner_id(n: u128) -> OwnerId {
    OwnerId::from_uuid(uuid::Uuid::from_u128(0xc000_0000_u128 << 96 | n))
}

/// A time with nanoseconds, `offset_ms` after the test epoch.
pub fn at(offset_ms: i64) -> DateTime<Utc> {
    epoch() + Duration::milliseconds(offset_ms) + Duration::nanoseconds(123_456_789)
}

/// Session `n` queued with its first run, as one write.
pub fn new_session(n: u32) -> (Session, Run) {
    let (mut session, run) =
        Session::queued(session_id(n), run_id(n), spec("Fix the tests"), at(0));
    session.updated_at = at(i64::from(n));
    (session, run)
}

/// The write that creates session `n` and its first run.
pub fn created(n: u32) -> SessionWrite {
    let (session, run) = new_session(n);
    SessionWrite {
        session,
        run_change: Some(RunChange::Created(run)),
        approval_change: None,
    }
}

/// Session `n` moved to `status` at `at(offset_ms)`, without a run change.
pub fn moved(n: u32, status: SessionStatus, offset_ms: i64) -> SessionWrite {
    let (mut session, _) = new_session(n);
    session.status = status;
    session.updated_at = at(offset_ms);
    SessionWrite {
        session,
        run_change: None,
        approval_change: None,
    }
}

/// Stores session `n` with its first run.
pub async fn store_session(store: &SqliteStore, n: u32) {
    store.save(&created(n)).await.expect("session saved");
}

/// Transcript lines `seqs` of `run` saying "line <seq>".
pub fn lines(run: RunId, seqs: std::ops::Range<u64>) -> Vec<TranscriptEntry> {
    seqs.map(|seq| TranscriptEntry {
        run_id: run,
        seq,
        at: at(i64::try_from(seq).expect("small")),
        event: AgentEvent::AssistantText {
            text: format!("line {seq}"),
        },
    })
    .collect()
}

/// Transcript lines `from..from + count` of run 1, each a 2 kB tool result.
pub fn big_lines(from: u64, count: u64) -> Vec<TranscriptEntry> {
    (from..from + count)
        .map(|seq| TranscriptEntry {
            run_id: run_id(1),
            seq,
            at: at(0),
            event: AgentEvent::ToolResult {
                tool_use_id: format!("toolu_{seq}"),
                content: "x".repeat(2000),
                is_error: false,
            },
        })
        .collect()
}

/// A store whose file is capped at 200 pages, holding session 1 (whose run is run 1).
pub async fn capped_store(db: &TempDb) -> SqliteStore {
    let store = SqliteStore::open(db.options().max_page_count(200))
        .await
        .expect("the store opens");
    store_session(&store, 1).await;
    store
}

/// Appends [`big_lines`] in batches of 20 until a write fails; returns how many lines were
/// committed before, and the failure.
pub async fn fill_until_a_write_fails(store: &SqliteStore) -> (u64, StoreError) {
    let mut committed = 0;
    loop {
        match store.append_events(&big_lines(committed, 20)).await {
            Ok(()) => committed += 20,
            Err(error) => return (committed, error),
        }
        assert!(committed < 100_000, "the cap never took effect");
    }
}

/// A run of session `n` beyond its first (resume number `k`).
pub fn resume_run(n: u32, k: u32) -> Run {
    Run::requested(
        run_id(1000 * n + k),
        session_id(n),
        RunKind::Resume,
        lulu_domain::Prompt::parse("and now the docs").expect("not blank"),
        lulu_domain::AgentOptions::default(),
        at(i64::from(k) * 1000),
    )
}

/// Session ids of `sessions`, in order.
pub fn ids(sessions: &[Session]) -> Vec<SessionId> {
    sessions.iter().map(|session| session.id).collect()
}

/// A lease for `owner` that lapses `expires_ms` after the epoch.
pub fn lease(owner: OwnerId, expires_ms: i64) -> OwnerLease {
    OwnerLease {
        owner,
        pid: 4242,
        start_time: 987_654,
        host: "devbox".into(),
        heartbeat_at: at(0),
        expires_at: at(expires_ms),
    }
}
