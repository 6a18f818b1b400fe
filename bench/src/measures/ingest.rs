//! Measures 5 and 6 (in part): transcript ingestion through the supervisor against the
//! same agent's lines inserted raw (batched rusqlite), and the database and WAL sizes of a
//! long run.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use rusqlite::{params, Connection, OpenFlags};

use crate::agent::run_direct;
use crate::measures::Context;
use crate::table::{mib, ratio, Row, Verdict};
use crate::world::{Agent, World};

/// Lulu's rate / the raw rate.
const RATE_RATIO: f64 = 0.9;
/// The WAL bound during and after a long run.
const WAL_BYTES: f64 = 64.0 * 1024.0 * 1024.0;
/// Lines per raw transaction (the supervisor's batch cap).
const BATCH: usize = 512;

/// What one run through Lulu showed.
struct LuluRun {
    took: Duration,
    events: u64,
    wal_during: u64,
    wal_after: u64,
    db_growth: u64,
}

/// Ingestion ratio, database size per 1M lines, WAL during and after.
pub fn measure(context: &Context) -> anyhow::Result<Vec<Row>> {
    let lines = context.pick(50_000, 200_000);
    let rounds = context.pick(1, 3);
    let world = World::new(&context.tools, &Agent::Fake { tick_ms: 0 }, 8)?;
    world.start_daemon()?;
    let prompt = format!("SLOW {lines}");
    let mut raw_rates = Vec::new();
    let mut lulu_rates = Vec::new();
    let mut last = None;
    for round in 0..rounds {
        // Both rates count the agent's stdout lines: the same work on both sides.
        let (agent_lines, raw_took) = raw_ingestion(&world, &prompt, round)?;
        raw_rates.push(rate(agent_lines, raw_took));
        let run = through_lulu(&world, &prompt)?;
        lulu_rates.push(rate(agent_lines, run.took));
        last = Some((agent_lines, run));
    }
    let (mut agent_lines, mut run) = last.context("no round ran")?;
    let long = context.pick(lines, 1_000_000);
    if long == lines {
        context.note(&format!(
            "quick mode: ingestion, WAL and size over a {lines}-line run (1M lines in --full)"
        ));
    } else {
        run = through_lulu(&world, &format!("SLOW {long}"))?;
        // fake-claude's `SLOW n` writes n lines and two more (init, result).
        agent_lines = long + 2;
    }
    let raw = median(&mut raw_rates);
    let lulu = median(&mut lulu_rates);
    // Line counts stay far below 2^52.
    #[allow(clippy::cast_precision_loss)]
    let per_million = run.db_growth as f64 / agent_lines as f64 * 1e6;
    #[allow(clippy::cast_precision_loss)]
    let (during, after) = (run.wal_during as f64, run.wal_after as f64);
    Ok(vec![
        Row {
            measure: format!(
                "ingestion, fake agent at full speed, {lines} lines (median of {rounds})"
            ),
            baseline: format!("{raw:.0} lines/s direct + raw rusqlite"),
            lulu: format!("{lulu:.0} lines/s"),
            ratio: ratio(lulu / raw),
            goal: format!(">= {RATE_RATIO}×"),
            verdict: Verdict::from_goal(lulu / raw >= RATE_RATIO),
        },
        Row {
            measure: format!("database size per 1M transcript lines ({long}-line run)"),
            baseline: "-".to_owned(),
            lulu: format!("{} ({} events stored)", mib(per_million), run.events),
            ratio: "-".to_owned(),
            goal: "(reported)".to_owned(),
            verdict: Verdict::Context,
        },
        Row {
            measure: format!("WAL size during / after a {long}-line run"),
            baseline: "-".to_owned(),
            lulu: format!("{} / {}", mib(during), mib(after)),
            ratio: "-".to_owned(),
            goal: "<= 64 MiB".to_owned(),
            verdict: Verdict::from_goal(during <= WAL_BYTES && after <= WAL_BYTES),
        },
    ])
}

fn rate(lines: u64, took: Duration) -> f64 {
    // Line counts stay far below 2^52.
    #[allow(clippy::cast_precision_loss)]
    let lines = lines as f64;
    lines / took.as_secs_f64()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The agent run directly, each stdout line inserted as it comes, `BATCH` per transaction:
/// lines and spawn-to-last-commit time.
fn raw_ingestion(world: &World, prompt: &str, round: usize) -> anyhow::Result<(u64, Duration)> {
    let path = world.path(&format!("raw-{round}.db"));
    let mut connection = Connection::open(&path)?;
    connection.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
         CREATE TABLE events (id INTEGER PRIMARY KEY, run_key INTEGER NOT NULL,
           seq INTEGER NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL, json TEXT NOT NULL,
           UNIQUE (run_key, seq));",
    )?;
    let started = Instant::now();
    let mut pending: Vec<String> = Vec::with_capacity(BATCH);
    let mut seq = 0_u64;
    let mut failed = None;
    let mut flush = |pending: &mut Vec<String>| {
        if let Err(error) = insert_batch(&mut connection, pending, &mut seq) {
            failed.get_or_insert(error);
        }
        pending.clear();
    };
    let run = run_direct(world.agent(), prompt, |line| {
        pending.push(line.to_owned());
        if pending.len() == BATCH {
            flush(&mut pending);
        }
    })?;
    flush(&mut pending);
    let took = started.elapsed();
    if let Some(error) = failed {
        return Err(error.into());
    }
    drop(connection);
    std::fs::remove_file(&path).ok();
    Ok((run.lines, took))
}

fn insert_batch(
    connection: &mut Connection,
    lines: &[String],
    seq: &mut u64,
) -> rusqlite::Result<()> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut insert = transaction.prepare_cached(
            "INSERT INTO events (run_key, seq, at, kind, json) VALUES (1, ?1, ?2, ?3, ?4)",
        )?;
        for line in lines {
            let kind = serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|value| value["type"].as_str().map(str::to_owned))
                .unwrap_or_default();
            let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
            insert.execute(params![*seq, at, kind, line])?;
            *seq += 1;
        }
    }
    transaction.commit()
}

/// Bytes in the database (its pages, WAL content included), read through SQLite.
fn database_bytes(db: &Path) -> anyhow::Result<u64> {
    let connection = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let pages: u64 = connection.query_row("PRAGMA page_count", [], |row| row.get(0))?;
    let size: u64 = connection.query_row("PRAGMA page_size", [], |row| row.get(0))?;
    Ok(pages * size)
}

fn wal_bytes(db: &Path) -> u64 {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(wal).map_or(0, |meta| meta.len())
}

/// A detached run of `prompt`, its status polled through SQLite until it ends; the WAL's
/// largest size meanwhile, and after.
fn through_lulu(world: &World, prompt: &str) -> anyhow::Result<LuluRun> {
    let before = database_bytes(&world.db)?;
    let started = Instant::now();
    let id = world.detach(prompt)?;
    let connection = Connection::open_with_flags(&world.db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut wal_during = 0;
    let status = loop {
        wal_during = wal_during.max(wal_bytes(&world.db));
        let status: String =
            connection.query_row("SELECT status FROM sessions WHERE id = ?1", [&id], |row| {
                row.get(0)
            })?;
        if matches!(status.as_str(), "completed" | "failed" | "interrupted") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("session {id} did not end within 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = started.elapsed();
    if status != "completed" {
        bail!("session {id} ended {status}");
    }
    let events: u64 = connection.query_row(
        "SELECT count(*) FROM events e JOIN runs r ON e.run_key = r.key WHERE r.session_id = ?1",
        [&id],
        |row| row.get(0),
    )?;
    drop(connection);
    std::thread::sleep(Duration::from_secs(1));
    Ok(LuluRun {
        took,
        events,
        wal_during,
        wal_after: wal_bytes(&world.db),
        db_growth: database_bytes(&world.db)?.saturating_sub(before),
    })
}
