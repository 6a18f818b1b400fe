//! Bench binary: transcript ingestion through the adapter against raw rusqlite batched
//! inserts of the same rows (measured in the same run), and the dashboard list query over
//! a large database (100k sessions, 10M events by default).
//!
//! `cargo bench -p lulu-adapters-sqlite`; `LULU_BENCH_EVENTS` and `LULU_BENCH_SESSIONS`
//! scale the list dataset down for a quick look.

use std::path::Path;
use std::time::{Duration, Instant};

use lulu_adapters_sqlite::{SqliteStore, StoreOptions};
use lulu_domain::lifecycle::RunChange;
use lulu_domain::ports::{SessionFilter, SessionQuery, SessionStore as _, SessionWrite};
use lulu_domain::testing::{epoch, run_id, session_id, spec};
use lulu_domain::{AgentEvent, Session, SessionStatus, TranscriptEntry};
use rusqlite::{params, Connection};

/// Lines per ingestion measurement, and per batch (the supervisor's cap).
const INGEST_LINES: u64 = 200_000;
const BATCH: u64 = 512;

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    ingestion().await;
    dashboard_list().await;
}

fn line(seq: u64) -> TranscriptEntry {
    TranscriptEntry {
        run_id: run_id(1),
        seq,
        at: epoch() + chrono::Duration::milliseconds(i64::try_from(seq).expect("small")),
        event: AgentEvent::AssistantText {
            text: format!("Line {seq}: reading src/parser.rs and running the failing test again."),
        },
    }
}

fn per_second(lines: u64, took: Duration) -> f64 {
    // Line counts here are far below 2^52: the conversion is exact.
    #[allow(clippy::cast_precision_loss)]
    let lines = lines as f64;
    lines / took.as_secs_f64()
}

/// A new database with session 1 and its run, closed again.
async fn prepared_database(path: &Path) {
    let store = SqliteStore::open(StoreOptions::new(path))
        .await
        .expect("open");
    let (session, run) = Session::queued(session_id(1), run_id(1), spec("bench"), epoch());
    let write = SessionWrite {
        session,
        run_change: Some(RunChange::Created(run)),
        approval_change: None,
    };
    store.save(&write).await.expect("save");
    store.close().await;
}

async fn adapter_ingestion(path: &Path, lines: &[TranscriptEntry]) -> Duration {
    prepared_database(path).await;
    let store = SqliteStore::open(StoreOptions::new(path))
        .await
        .expect("open");
    let started = Instant::now();
    for batch in lines.chunks(usize::try_from(BATCH).expect("small")) {
        store.append_events(batch).await.expect("append");
    }
    let took = started.elapsed();
    store.close().await;
    took
}

async fn raw_ingestion(path: &Path, lines: &[TranscriptEntry]) -> Duration {
    prepared_database(path).await;
    // The same rows, encoded before the clock starts: the baseline is SQLite's own cost.
    let rows: Vec<(u64, String, &str, String)> = lines
        .iter()
        .map(|entry| {
            (
                entry.seq,
                entry.at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
                entry.event.kind(),
                serde_json::to_string(&entry.event).expect("json"),
            )
        })
        .collect();
    let mut connection = Connection::open(path).expect("open");
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )
        .expect("pragmas");
    let started = Instant::now();
    for batch in rows.chunks(usize::try_from(BATCH).expect("small")) {
        let transaction = connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .expect("begin");
        {
            let mut insert = transaction
                .prepare_cached(
                    "INSERT INTO events (run_key, seq, at, kind, json) VALUES (1, ?1, ?2, ?3, ?4)",
                )
                .expect("prepare");
            for (seq, at, kind, json) in batch {
                insert
                    .execute(params![seq, at, kind, json])
                    .expect("insert");
            }
        }
        transaction.commit().expect("commit");
    }
    started.elapsed()
}

async fn ingestion() {
    let lines: Vec<TranscriptEntry> = (0..INGEST_LINES).map(line).collect();
    let mut adapter = Vec::new();
    let mut raw = Vec::new();
    for round in 0..3 {
        let dir = tempfile::tempdir().expect("a temp dir");
        raw.push(raw_ingestion(&dir.path().join(format!("raw{round}.db")), &lines).await);
        adapter
            .push(adapter_ingestion(&dir.path().join(format!("adapter{round}.db")), &lines).await);
    }
    adapter.sort();
    raw.sort();
    let (adapter, raw) = (adapter[1], raw[1]);
    let adapter_rate = per_second(INGEST_LINES, adapter);
    let raw_rate = per_second(INGEST_LINES, raw);
    println!("transcript ingestion, {INGEST_LINES} lines in batches of {BATCH}, median of 3:");
    println!("  adapter append_events : {adapter_rate:>10.0} lines/s ({adapter:?})");
    println!("  raw rusqlite inserts  : {raw_rate:>10.0} lines/s ({raw:?})");
    println!(
        "  ratio adapter / raw   : {:>10.2} (goal >= 0.5, and >= 50k lines/s)",
        adapter_rate / raw_rate
    );
}

fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Fills `path` with `sessions` sessions of one run each and `events` transcript lines,
/// with raw batched inserts (the adapter made the schema).
fn build_large_database(path: &Path, sessions: u64, events: u64) {
    let mut connection = Connection::open(path).expect("open");
    connection
        .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;")
        .expect("pragmas");
    let statuses = SessionStatus::ALL;
    let per_run = events / sessions;
    let transaction = connection.transaction().expect("begin");
    {
        let mut session = transaction.prepare(
            "INSERT INTO sessions (id, title, cwd, prompt, options, status, created_at, updated_at, \
             resume_count, agent_established, cost_usd, input_tokens, output_tokens, num_turns, \
             change_seq, active_run_id) \
             VALUES (?1, ?2, '/srv/app', 'Fix the failing test', '{}', ?3, ?4, ?4, 0, 1, 0.1, 1000, 100, 2, ?5, ?6)",
        ).expect("prepare");
        let mut run = transaction
            .prepare(
                "INSERT INTO runs (key, id, session_id, kind, prompt, started_at, change_seq) \
             VALUES (?1, ?2, ?3, 'start', 'Fix the failing test', ?4, ?1)",
            )
            .expect("prepare");
        for n in 0..sessions {
            let id = session_id(u32::try_from(n + 1).expect("fits")).to_string();
            let run_id = run_id(u32::try_from(n + 1).expect("fits")).to_string();
            let status = statuses[usize::try_from(n % 7).expect("small")].as_str();
            let at = (epoch() + chrono::Duration::seconds(i64::try_from(n).expect("fits")))
                .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
            session
                .execute(params![
                    id,
                    format!("Session {n}"),
                    status,
                    at,
                    n + 1,
                    run_id
                ])
                .expect("session");
            run.execute(params![n + 1, run_id, id, at]).expect("run");
        }
    }
    transaction.commit().expect("commit");
    let json = r#"{"kind":"assistant_text","text":"Reading src/parser.rs and running the test."}"#;
    for chunk in 0..sessions.div_ceil(1000) {
        let transaction = connection.transaction().expect("begin");
        {
            let mut event = transaction
                .prepare_cached(
                    "INSERT INTO events (run_key, seq, at, kind, json) \
                     VALUES (?1, ?2, '2026-01-01T00:00:00.000000000Z', 'assistant_text', ?3)",
                )
                .expect("prepare");
            for key in chunk * 1000 + 1..=((chunk + 1) * 1000).min(sessions) {
                for seq in 0..per_run {
                    event.execute(params![key, seq, json]).expect("event");
                }
            }
        }
        transaction.commit().expect("commit");
    }
    connection
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .expect("checkpoint");
}

async fn timed_list(
    store: &SqliteStore,
    query: &SessionQuery,
    rounds: usize,
) -> (Duration, Duration, usize) {
    let mut times = Vec::with_capacity(rounds);
    let mut found = 0;
    for _ in 0..rounds {
        let started = Instant::now();
        found = store.list_sessions(query).await.expect("list").len();
        times.push(started.elapsed());
    }
    times.sort();
    (times[rounds / 2], times[rounds - 1], found)
}

async fn dashboard_list() {
    let sessions = env_count("LULU_BENCH_SESSIONS", 100_000);
    let events = env_count("LULU_BENCH_EVENTS", 10_000_000);
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("large.db");
    SqliteStore::open(StoreOptions::new(&path))
        .await
        .expect("open")
        .close()
        .await;
    let started = Instant::now();
    build_large_database(&path, sessions, events);
    let size = std::fs::metadata(&path).map_or(0, |meta| meta.len()) / (1024 * 1024);
    println!(
        "dashboard list over {sessions} sessions and {events} events ({size} MiB, built in {:?}):",
        started.elapsed()
    );

    let started = Instant::now();
    let report = lulu_adapters_sqlite::examine(&path)
        .await
        .expect("the full check runs");
    println!(
        "  full check (lulu doctor)       : {:?}, sound: {}",
        started.elapsed(),
        report.is_sound()
    );
    let started = Instant::now();
    let store = SqliteStore::open(StoreOptions::new(&path))
        .await
        .expect("open");
    println!("  open (cheap checks only)       : {:?}", started.elapsed());

    let queries = [
        (
            "newest 50",
            SessionQuery {
                filter: SessionFilter::default(),
                limit: Some(50),
                after: None,
            },
        ),
        (
            "newest 50 running",
            SessionQuery {
                filter: SessionFilter::status(Some(SessionStatus::Running)),
                limit: Some(50),
                after: None,
            },
        ),
        ("all sessions (no limit)", SessionQuery::default()),
    ];
    for (name, query) in queries {
        let rounds = if query.limit.is_some() { 50 } else { 5 };
        let (median, max, found) = timed_list(&store, &query, rounds).await;
        println!("  {name:<30} : median {median:?}, max {max:?} over {rounds} runs ({found} rows; goal <= 100 ms)");
    }
    store.close().await;
}
