//! The large database of measure 6: many finished sessions, one of them with a 100k-event
//! transcript, generated inside SQLite (recursive CTEs, no row crosses into Rust) into a
//! schema the sqlite adapter made, and cached under the target directory between runs.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use lulu_adapters_sqlite::{SqliteStore, StoreOptions};
use rusqlite::{named_params, Connection};

/// The size of a large database.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Sessions (one run each).
    pub sessions: u64,
    /// Transcript events over all of them.
    pub events: u64,
    /// Events of the first session (the one `show` and `logs` read).
    pub big_session: u64,
}

/// The id of session `n` (1-based) in a generated database.
pub fn session_id(n: u64) -> String {
    format!("{n:08x}-0000-4000-8000-{n:012x}")
}

/// The cached database of `shape` under `cache_dir`, generated first if absent.
pub async fn cached(cache_dir: &Path, shape: Shape) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(cache_dir)?;
    let scratch = cache_dir.join("generating.db");
    for leftover in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{leftover}", scratch.display()));
    }
    SqliteStore::open(StoreOptions::new(&scratch))
        .await
        .context("the sqlite adapter creates the schema")?
        .close()
        .await;
    let version: i64 =
        Connection::open(&scratch)?.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let path = cache_dir.join(format!(
        "large-{}s-{}e-v{version}.db",
        shape.sessions, shape.events
    ));
    if path.exists() {
        std::fs::remove_file(&scratch)?;
        return Ok(path);
    }
    generate(&scratch, shape)?;
    std::fs::rename(&scratch, &path)?;
    Ok(path)
}

fn generate(path: &Path, shape: Shape) -> anyhow::Result<()> {
    let connection = Connection::open(path)?;
    // Rollback journal while generating (a WAL would hold a copy of everything); Lulu
    // switches the file back to WAL when it opens it.
    connection.execute_batch(
        "PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;",
    )?;
    let per_run = (shape.events - shape.big_session) / (shape.sessions - 1).max(1);
    connection.execute_batch("BEGIN")?;
    connection.execute(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < :sessions)
         INSERT INTO sessions (id, title, cwd, prompt, options, status, created_at, updated_at,
             resume_count, active_run_id, agent_established, cost_usd, input_tokens,
             output_tokens, num_turns, change_seq)
         SELECT printf('%08x-0000-4000-8000-%012x', x, x), 'Session ' || x, '/srv/app',
             'Fix the failing test in parser.rs', '{}',
             CASE x % 3 WHEN 0 THEN 'completed' WHEN 1 THEN 'failed' ELSE 'interrupted' END,
             strftime('%Y-%m-%dT%H:%M:%S', 1767225600 + x, 'unixepoch') || '.000000000Z',
             strftime('%Y-%m-%dT%H:%M:%S', 1767225600 + x, 'unixepoch') || '.000000000Z',
             0, NULL, 1, 0.12, 1000, 100, 2, x
         FROM n",
        named_params! { ":sessions": shape.sessions },
    )?;
    connection.execute(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < :sessions)
         INSERT INTO runs (key, id, session_id, kind, prompt, started_at, ended_at, exit_code,
             last_seq, change_seq)
         SELECT x, printf('%08x-1111-4000-8000-%012x', x, x),
             printf('%08x-0000-4000-8000-%012x', x, x), 'start',
             'Fix the failing test in parser.rs',
             strftime('%Y-%m-%dT%H:%M:%S', 1767225600 + x, 'unixepoch') || '.000000000Z',
             strftime('%Y-%m-%dT%H:%M:%S', 1767225600 + x, 'unixepoch') || '.000000000Z',
             0, CASE x WHEN 1 THEN :big - 1 ELSE :per_run - 1 END, x
         FROM n",
        named_params! { ":sessions": shape.sessions, ":big": shape.big_session, ":per_run": per_run },
    )?;
    connection.execute(
        "UPDATE change_counter SET value = :sessions",
        named_params! { ":sessions": shape.sessions },
    )?;
    let event = "INSERT INTO events (run_key, seq, at, kind, json)
         SELECT k, q, '2026-01-01T00:00:00.000000000Z', 'assistant_text',
             '{\"kind\":\"assistant_text\",\"text\":\"Line ' || q || ': reading src/parser.rs and running the failing test again.\"}'
         FROM keys CROSS JOIN seqs";
    connection.execute(
        &format!(
            "WITH RECURSIVE keys(k) AS (SELECT 1),
               seqs(q) AS (SELECT 0 UNION ALL SELECT q + 1 FROM seqs WHERE q < :count - 1)
             {event}"
        ),
        named_params! { ":count": shape.big_session },
    )?;
    connection.execute(
        &format!(
            "WITH RECURSIVE keys(k) AS (SELECT 2 UNION ALL SELECT k + 1 FROM keys WHERE k < :sessions),
               seqs(q) AS (SELECT 0 UNION ALL SELECT q + 1 FROM seqs WHERE q < :count - 1)
             {event}"
        ),
        named_params! { ":sessions": shape.sessions, ":count": per_run },
    )?;
    connection.execute_batch("COMMIT")?;
    Ok(())
}
