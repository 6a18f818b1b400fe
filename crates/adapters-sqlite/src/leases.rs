//! Owner leases: each Lulu process that supervises runs holds a lease it renews; a live
//! session whose owner's lease is missing or expired is an orphan for recovery to take over.

use std::time::Duration;

use chrono::{DateTime, Utc};
use lulu_domain::{OwnerId, Session, SessionStatus};
use rusqlite::{params, Row, Transaction};

use crate::codec::{self, time_text};
use crate::error::DbError;
use crate::sessions::{session_from_row, SESSION_COLUMNS};

pub use lulu_domain::ports::OwnerLease;

/// What a renewal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseRenewal {
    /// The lease now runs until the returned time.
    Renewed {
        /// The new expiry.
        expires_at: DateTime<Utc>,
    },
    /// The lease had expired or was released: other processes may be recovering this
    /// owner's sessions, so it must stop treating them as its own.
    Lost,
}

/// `now + ttl`, saturating instead of overflowing.
fn expiry(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Takes (or retakes) a lease.
pub(crate) fn acquire(transaction: &Transaction<'_>, lease: &OwnerLease) -> Result<(), DbError> {
    transaction
        .prepare_cached(
            "INSERT INTO owners (owner_id, pid, start_time, host, heartbeat_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (owner_id) DO UPDATE SET pid = excluded.pid, \
                 start_time = excluded.start_time, host = excluded.host, \
                 heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at",
        )?
        .execute(params![
            lease.owner.to_string(),
            lease.pid,
            lease.start_time,
            lease.host,
            time_text(lease.heartbeat_at),
            time_text(lease.expires_at),
        ])?;
    Ok(())
}

/// Extends an unexpired lease to `now + ttl`.
pub(crate) fn renew(
    transaction: &Transaction<'_>,
    owner: OwnerId,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<LeaseRenewal, DbError> {
    let expires_at = expiry(now, ttl);
    let renewed = transaction
        .prepare_cached(
            "UPDATE owners SET heartbeat_at = ?2, expires_at = ?3 \
             WHERE owner_id = ?1 AND expires_at > ?2",
        )?
        .execute(params![
            owner.to_string(),
            time_text(now),
            time_text(expires_at)
        ])?;
    if renewed == 0 {
        return Ok(LeaseRenewal::Lost);
    }
    Ok(LeaseRenewal::Renewed { expires_at })
}

/// Drops a lease; false if there was none.
pub(crate) fn release(transaction: &Transaction<'_>, owner: OwnerId) -> Result<bool, DbError> {
    let released = transaction
        .prepare_cached("DELETE FROM owners WHERE owner_id = ?1")?
        .execute([owner.to_string()])?;
    Ok(released > 0)
}

fn lease_from_row(row: &Row<'_>) -> rusqlite::Result<OwnerLease> {
    Ok(OwnerLease {
        owner: codec::from_text(row, 0)?,
        pid: row.get(1)?,
        start_time: row.get(2)?,
        host: row.get(3)?,
        heartbeat_at: codec::time(row, 4)?,
        expires_at: codec::time(row, 5)?,
    })
}

/// Every lease, current or lapsed.
pub(crate) fn all(transaction: &Transaction<'_>) -> Result<Vec<OwnerLease>, DbError> {
    let mut statement = transaction.prepare_cached(
        "SELECT owner_id, pid, start_time, host, heartbeat_at, expires_at FROM owners ORDER BY owner_id",
    )?;
    let rows = statement.query_map([], lease_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Leases that lapsed at or before `now`, oldest expiry first.
pub(crate) fn expired(
    transaction: &Transaction<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<OwnerLease>, DbError> {
    let mut statement = transaction.prepare_cached(
        "SELECT owner_id, pid, start_time, host, heartbeat_at, expires_at FROM owners \
         WHERE expires_at <= ?1 ORDER BY expires_at",
    )?;
    let rows = statement.query_map([time_text(now)], lease_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The words of the live statuses, as a JSON array for `json_each`.
pub(crate) fn live_statuses() -> String {
    let words: Vec<&str> = SessionStatus::ALL
        .into_iter()
        .filter(|status| status.is_live())
        .map(SessionStatus::as_str)
        .collect();
    serde_json::Value::from(words).to_string()
}

/// Live sessions with no owner, or whose owner's lease is missing or lapsed at `now`.
pub(crate) fn orphaned_sessions(
    transaction: &Transaction<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<Session>, DbError> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM sessions s \
         LEFT JOIN owners o ON o.owner_id = s.owner_id \
         WHERE s.status IN (SELECT value FROM json_each(?1)) \
           AND (o.owner_id IS NULL OR o.expires_at <= ?2) \
         ORDER BY s.updated_at"
    );
    let mut statement = transaction.prepare_cached(&sql)?;
    let rows = statement.query_map(params![live_statuses(), time_text(now)], session_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
