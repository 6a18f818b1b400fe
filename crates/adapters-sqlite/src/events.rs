//! Transcripts: each batch of lines is appended in the caller's one transaction, and read
//! back by pages of `(run, seq > after)` along the `(run_key, seq)` index.

use lulu_domain::{ReportedAgent, RunId, TranscriptEntry};
use rusqlite::{params, ErrorCode, Transaction};

use crate::codec::{self, time_text};
use crate::error::DbError;
use crate::{changes, sessions};

/// A transcript line encoded for storage (done on the caller's side, off the database thread).
#[derive(Debug)]
pub(crate) struct EventRow {
    run_id: RunId,
    seq: u64,
    at: String,
    kind: &'static str,
    json: String,
    /// The model and CLI version, on the run's first `init` line of the batch.
    agent: Option<(String, String)>,
}

/// Encodes entries for [`append`].
pub(crate) fn encode(entries: &[TranscriptEntry]) -> Result<Vec<EventRow>, DbError> {
    let reported = ReportedAgent::first_of_each_run(entries);
    entries
        .iter()
        .map(|entry| {
            let agent = reported
                .iter()
                .find(|agent| agent.run_id == entry.run_id && agent.seq == entry.seq)
                .map(|agent| (agent.model.to_owned(), agent.cli_version.to_owned()));
            Ok(EventRow {
                run_id: entry.run_id,
                seq: entry.seq,
                at: time_text(entry.at),
                kind: entry.event.kind(),
                json: serde_json::to_string(&entry.event)?,
                agent,
            })
        })
        .collect()
}

/// Appends the rows and records each run's progress for the change feed.
pub(crate) fn append(transaction: &Transaction<'_>, rows: &[EventRow]) -> Result<(), DbError> {
    if rows.is_empty() {
        return Ok(());
    }
    let change_seq = changes::next(transaction)?;
    let mut insert = transaction.prepare_cached(
        "INSERT INTO events (run_key, seq, at, kind, json) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    // (run id, run key, highest seq in this batch) of every run the batch touches.
    let mut touched: Vec<(RunId, i64, u64)> = Vec::with_capacity(1);
    for row in rows {
        let seen = touched
            .iter_mut()
            .find(|(run_id, ..)| *run_id == row.run_id);
        let key = if let Some((_, key, highest)) = seen {
            *highest = (*highest).max(row.seq);
            *key
        } else {
            let key = sessions::run_key(transaction, row.run_id)?;
            touched.push((row.run_id, key, row.seq));
            key
        };
        insert
            .execute(params![key, row.seq, row.at, row.kind, row.json])
            .map_err(|error| duplicate_line(error, row))?;
        if let Some((model, cli_version)) = &row.agent {
            transaction
                .prepare_cached(
                    "UPDATE runs SET model = ?2, cli_version = ?3 WHERE key = ?1 AND model IS NULL",
                )?
                .execute(params![key, model, cli_version])?;
        }
    }
    let mut progress = transaction.prepare_cached(
        "UPDATE runs SET last_seq = max(coalesce(last_seq, -1), ?2), change_seq = ?3 \
         WHERE key = ?1",
    )?;
    for (_, key, highest) in touched {
        progress.execute(params![key, highest, change_seq])?;
    }
    Ok(())
}

fn duplicate_line(error: rusqlite::Error, row: &EventRow) -> DbError {
    if error.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) {
        return DbError::Invalid(format!(
            "run {} already has a transcript line at seq {}; nothing of this batch was stored",
            row.run_id, row.seq
        ));
    }
    DbError::Sqlite(error)
}

/// A run's lines with `seq > after`, at most `limit`, in `seq` order.
pub(crate) fn after(
    transaction: &Transaction<'_>,
    run_id: RunId,
    after: Option<u64>,
    limit: usize,
) -> Result<Vec<TranscriptEntry>, DbError> {
    let after = after.map_or(-1, |seq| i64::try_from(seq).unwrap_or(i64::MAX));
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut statement = transaction.prepare_cached(
        "SELECT e.seq, e.at, e.json FROM events e JOIN runs r ON r.key = e.run_key \
         WHERE r.id = ?1 AND e.seq > ?2 ORDER BY e.seq LIMIT ?3",
    )?;
    let rows = statement.query_map(params![run_id.to_string(), after, limit], |row| {
        Ok(TranscriptEntry {
            run_id,
            seq: row.get(0)?,
            at: codec::time(row, 1)?,
            event: codec::json(row, 2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
