//! The change feed: a global counter bumped by every write another process should notice,
//! so a poller asks "what changed since cursor X" with a few indexed range reads.
//!
//! Writes are serialised by IMMEDIATE transactions and each bumps the counter inside its
//! own transaction, so counter order is commit order: a poller that reads everything up to
//! the counter value in one snapshot never skips a change.

pub use lulu_domain::ports::{ChangeCursor, Changes, TranscriptProgress};
use lulu_domain::SessionId;
use rusqlite::Transaction;

use crate::codec;
use crate::error::DbError;
use crate::sessions::{session_from_row, SESSION_COLUMNS};

/// Bumps the counter and returns the new value; call once per write transaction.
pub(crate) fn next(transaction: &Transaction<'_>) -> Result<u64, DbError> {
    Ok(transaction
        .prepare_cached("UPDATE change_counter SET value = value + 1 WHERE id = 1 RETURNING value")?
        .query_row([], |row| row.get(0))?)
}

/// The counter's current value.
pub(crate) fn current(transaction: &Transaction<'_>) -> Result<ChangeCursor, DbError> {
    Ok(ChangeCursor::from_value(
        transaction
            .prepare_cached("SELECT value FROM change_counter WHERE id = 1")?
            .query_row([], |row| row.get(0))?,
    ))
}

/// Leaves a tombstone so pollers learn of the deletion.
pub(crate) fn record_deletion(transaction: &Transaction<'_>, id: SessionId) -> Result<(), DbError> {
    let change_seq = next(transaction)?;
    transaction
        .prepare_cached(
            "INSERT INTO session_tombstones (session_id, change_seq) VALUES (?1, ?2) \
             ON CONFLICT (session_id) DO UPDATE SET change_seq = excluded.change_seq",
        )?
        .execute(rusqlite::params![id.to_string(), change_seq])?;
    Ok(())
}

/// Everything after `cursor`, read in the caller's single snapshot.
pub(crate) fn since(
    transaction: &Transaction<'_>,
    cursor: ChangeCursor,
) -> Result<Changes, DbError> {
    let now = current(transaction)?;
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.change_seq > ?1 ORDER BY s.change_seq"
    );
    let sessions = transaction
        .prepare_cached(&sql)?
        .query_map([cursor.value()], session_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let deleted = transaction
        .prepare_cached(
            "SELECT session_id FROM session_tombstones WHERE change_seq > ?1 ORDER BY change_seq",
        )?
        .query_map([cursor.value()], |row| codec::from_text(row, 0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let transcripts = transaction
        .prepare_cached(
            "SELECT session_id, id, last_seq FROM runs \
             WHERE change_seq > ?1 AND last_seq IS NOT NULL ORDER BY change_seq",
        )?
        .query_map([cursor.value()], |row| {
            Ok(TranscriptProgress {
                session_id: codec::from_text(row, 0)?,
                run_id: codec::from_text(row, 1)?,
                last_seq: row.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Changes {
        cursor: now,
        sessions,
        deleted,
        transcripts,
    })
}
