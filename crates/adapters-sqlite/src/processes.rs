//! The processes recorded for each run, so recovery can kill their groups after the owner
//! died without ever hitting a reused pid.

use lulu_domain::{ProcessRecord, RunId};
use rusqlite::{params, Transaction};

use crate::error::DbError;
use crate::sessions;

/// Records processes of a run; recording the same process again only updates its group.
pub(crate) fn record(
    transaction: &Transaction<'_>,
    run_id: RunId,
    processes: &[ProcessRecord],
) -> Result<(), DbError> {
    let key = sessions::run_key(transaction, run_id)?;
    let mut upsert = transaction.prepare_cached(
        "INSERT INTO run_processes (run_key, pid, pgid, start_time) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (run_key, pid, start_time) DO UPDATE SET pgid = excluded.pgid",
    )?;
    for process in processes {
        upsert.execute(params![key, process.pid, process.pgid, process.start_time])?;
    }
    Ok(())
}

/// A run's recorded processes, by pid.
pub(crate) fn recorded(
    transaction: &Transaction<'_>,
    run_id: RunId,
) -> Result<Vec<ProcessRecord>, DbError> {
    let mut statement = transaction.prepare_cached(
        "SELECT p.pid, p.pgid, p.start_time FROM run_processes p \
         JOIN runs r ON r.key = p.run_key WHERE r.id = ?1 ORDER BY p.pid, p.start_time",
    )?;
    let rows = statement.query_map([run_id.to_string()], |row| {
        Ok(ProcessRecord {
            pid: row.get(0)?,
            pgid: row.get(1)?,
            start_time: row.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
