//! The change feed: a global counter bumped by every write another process should notice,
//! so a poller asks "what changed since cursor X" with a few indexed range reads.
//!
//! Writes are serialised by IMMEDIATE transactions and each bumps the counter inside its
//! own transaction, so counter order is commit order: a poller that reads everything up to
//! the counter value in one snapshot never skips a change.

use lulu_domain::{RunId, Session, SessionId};
use rusqlite::Transaction;

use crate::codec;
use crate::error::DbError;
use crate::sessions::{session_from_row, SESSION_COLUMNS};

/// A position in the change feed. [`ChangeCursor::START`] comes before every change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChangeCursor(u64);

impl ChangeCursor {
    /// Before every change: the first poll returns everything.
    pub const START: Self = Self(0);

    /// The counter value, for logs and for keeping a cursor across restarts.
    pub const fn value(self) -> u64 {
        self.0
    }

    /// A cursor at a counter value previously read with [`Self::value`].
    pub const fn from_value(value: u64) -> Self {
        Self(value)
    }
}

/// A run whose transcript grew.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TranscriptProgress {
    /// The session the run belongs to.
    pub session_id: SessionId,
    /// The run.
    pub run_id: RunId,
    /// The highest stored `seq`: read `events_after` your last seen seq to catch up.
    pub last_seq: u64,
}

/// Everything that changed after a cursor.
#[derive(Debug, Clone, PartialEq)]
pub struct Changes {
    /// Pass this to the next poll.
    pub cursor: ChangeCursor,
    /// Sessions saved since (their current value), oldest change first.
    pub sessions: Vec<Session>,
    /// Sessions deleted since.
    pub deleted: Vec<SessionId>,
    /// Runs whose transcripts grew since.
    pub transcripts: Vec<TranscriptProgress>,
}

/// Bumps the counter and returns the new value; call once per write transaction.
pub(crate) fn next(transaction: &Transaction<'_>) -> Result<u64, DbError> {
    Ok(transaction
        .prepare_cached("UPDATE change_counter SET value = value + 1 WHERE id = 1 RETURNING value")?
        .query_row([], |row| row.get(0))?)
}

/// The counter's current value.
pub(crate) fn current(transaction: &Transaction<'_>) -> Result<ChangeCursor, DbError> {
    Ok(ChangeCursor(
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
        .query_map([cursor.0], session_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let deleted = transaction
        .prepare_cached(
            "SELECT session_id FROM session_tombstones WHERE change_seq > ?1 ORDER BY change_seq",
        )?
        .query_map([cursor.0], |row| codec::from_text(row, 0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let transcripts = transaction
        .prepare_cached(
            "SELECT session_id, id, last_seq FROM runs \
             WHERE change_seq > ?1 AND last_seq IS NOT NULL ORDER BY change_seq",
        )?
        .query_map([cursor.0], |row| {
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
