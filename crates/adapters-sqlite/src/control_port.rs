//! The domain's `ControlStore` port over this store: leases, ownership claims, recorded
//! processes, the mailbox and the shared run slots, each call one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Transaction};

use lulu_domain::ports::{
    ChangeCursor, Changes, ControlAction, ControlAnswer, ControlRequest, ControlStore,
    OwnedSession, OwnerLease, StoreError,
};
use lulu_domain::{ControlRequestId, OwnerId, ProcessRecord, RunId, Session, SessionId};

use crate::codec::{self, time_text};
use crate::error::DbError;
use crate::leases::live_statuses;
use crate::sessions::{session_from_row, SESSION_COLUMNS};
use crate::store::SqliteStore;

/// How many control requests one claim takes at most.
const CLAIM_BATCH: usize = 32;

/// The owner of a store opened without one (it can read, but never owns a session).
fn nobody() -> OwnerId {
    OwnerId::from_uuid(uuid::Uuid::nil())
}

#[async_trait]
impl ControlStore for SqliteStore {
    fn owner(&self) -> OwnerId {
        SqliteStore::owner(self).unwrap_or_else(nobody)
    }

    async fn put_lease(&self, lease: &OwnerLease) -> Result<(), StoreError> {
        self.acquire_lease(lease).await
    }

    async fn drop_lease(&self) -> Result<(), StoreError> {
        self.release_lease(ControlStore::owner(self))
            .await
            .map(|_| ())
    }

    async fn leases(&self) -> Result<Vec<OwnerLease>, StoreError> {
        self.read(crate::leases::all).await
    }

    async fn forget_owner(&self, owner: OwnerId) -> Result<(), StoreError> {
        self.write(move |transaction| forget(transaction, owner))
            .await
    }

    async fn live_sessions(&self) -> Result<Vec<OwnedSession>, StoreError> {
        self.read(live_with_owner).await
    }

    async fn claim_session(&self, id: SessionId) -> Result<bool, StoreError> {
        let me = ControlStore::owner(self);
        self.write(move |transaction| claim(transaction, id, me))
            .await
    }

    async fn unclaim_session(&self, id: SessionId) -> Result<(), StoreError> {
        let me = ControlStore::owner(self);
        self.write(move |transaction| {
            let sql = "UPDATE sessions SET owner_id = NULL \
                       WHERE id = ?1 AND owner_id = ?2 AND status NOT IN (SELECT value FROM json_each(?3))";
            transaction.execute(sql, params![id.to_string(), me.to_string(), live_statuses()])?;
            Ok(())
        })
        .await
    }

    async fn record_processes(
        &self,
        run_id: RunId,
        processes: &[ProcessRecord],
    ) -> Result<(), StoreError> {
        SqliteStore::record_processes(self, run_id, processes).await
    }

    async fn recorded_processes(&self, run_id: RunId) -> Result<Vec<ProcessRecord>, StoreError> {
        SqliteStore::recorded_processes(self, run_id).await
    }

    async fn enqueue_control(
        &self,
        session_id: SessionId,
        action: &ControlAction,
        now: DateTime<Utc>,
    ) -> Result<ControlRequestId, StoreError> {
        SqliteStore::enqueue_control(self, session_id, action.clone(), now).await
    }

    async fn claim_controls(&self) -> Result<Vec<ControlRequest>, StoreError> {
        let me = ControlStore::owner(self);
        let pending = self
            .read(move |transaction| crate::control::any_unclaimed(transaction, me))
            .await?;
        if !pending {
            return Ok(Vec::new());
        }
        SqliteStore::claim_controls(self, me, CLAIM_BATCH, Utc::now()).await
    }

    async fn answer_control(
        &self,
        id: ControlRequestId,
        answer: &ControlAnswer,
    ) -> Result<(), StoreError> {
        SqliteStore::answer_control(self, id, answer.clone(), Utc::now())
            .await
            .map(|_| ())
    }

    async fn withdraw_control(
        &self,
        id: ControlRequestId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        SqliteStore::withdraw_control(self, id, now).await
    }

    async fn control_answer(
        &self,
        id: ControlRequestId,
    ) -> Result<Option<ControlAnswer>, StoreError> {
        SqliteStore::control_answer(self, id).await
    }

    async fn try_take_slot(
        &self,
        session_id: SessionId,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let me = ControlStore::owner(self);
        self.write(move |transaction| take_slot(transaction, session_id, me, limit, now))
            .await
    }

    async fn sessions_with_prefix(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<Session>, StoreError> {
        let prefix = prefix.to_ascii_lowercase();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |transaction| {
            let sql = format!(
                "SELECT {SESSION_COLUMNS} FROM sessions s WHERE substr(s.id, 1, length(?1)) = ?1 \
                 ORDER BY s.updated_at DESC LIMIT ?2"
            );
            let mut statement = transaction.prepare_cached(&sql)?;
            let rows = statement.query_map(params![prefix, limit], session_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn change_cursor(&self) -> Result<ChangeCursor, StoreError> {
        SqliteStore::change_cursor(self).await
    }

    async fn changes_since(&self, cursor: ChangeCursor) -> Result<Changes, StoreError> {
        SqliteStore::changes_since(self, cursor).await
    }
}

fn forget(transaction: &Transaction<'_>, owner: OwnerId) -> Result<(), DbError> {
    let owner = owner.to_string();
    transaction.execute("DELETE FROM owners WHERE owner_id = ?1", [&owner])?;
    transaction.execute("DELETE FROM run_slots WHERE owner_id = ?1", [&owner])?;
    transaction.execute(
        "UPDATE sessions SET owner_id = NULL \
         WHERE owner_id = ?1 AND status NOT IN (SELECT value FROM json_each(?2))",
        params![owner, live_statuses()],
    )?;
    Ok(())
}

fn live_with_owner(transaction: &Transaction<'_>) -> Result<Vec<OwnedSession>, DbError> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS}, s.owner_id FROM sessions s \
         WHERE s.status IN (SELECT value FROM json_each(?1)) ORDER BY s.updated_at"
    );
    let mut statement = transaction.prepare_cached(&sql)?;
    let owner_column = SESSION_COLUMNS.split(',').count();
    let rows = statement.query_map([live_statuses()], |row| {
        let owner: Option<String> = row.get(owner_column)?;
        Ok(OwnedSession {
            session: session_from_row(row)?,
            owner: match owner {
                Some(_) => Some(codec::from_text(row, owner_column)?),
                None => None,
            },
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Owners not known to be gone, as SQL for `IN (...)`. A lapsed lease alone does not make
/// an owner gone (a busy machine renews late); recovery decides that, checking the owner's
/// process, and then forgets the owner, deleting its lease.
const KNOWN_OWNERS: &str = "SELECT owner_id FROM owners";

fn claim(transaction: &Transaction<'_>, id: SessionId, me: OwnerId) -> Result<bool, DbError> {
    let sql = format!(
        "UPDATE sessions SET owner_id = :me \
         WHERE id = :id AND status NOT IN (SELECT value FROM json_each(:live)) \
           AND (owner_id IS NULL OR owner_id = :me OR owner_id NOT IN ({KNOWN_OWNERS}))"
    );
    let changed = transaction.execute(
        &sql,
        rusqlite::named_params! {
            ":me": me.to_string(), ":id": id.to_string(), ":live": live_statuses(),
        },
    )?;
    Ok(changed == 1)
}

/// Takes a slot if fewer than `limit` are held and fewer sessions queued before this one
/// still wait than there are free slots (so sessions start in the order they queued).
fn take_slot(
    transaction: &Transaction<'_>,
    session: SessionId,
    me: OwnerId,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let now_text = time_text(now);
    let live = live_statuses();
    transaction.execute(
        &format!(
            "DELETE FROM run_slots WHERE owner_id NOT IN ({KNOWN_OWNERS}) \
             OR session_id IN (SELECT id FROM sessions WHERE status NOT IN (SELECT value FROM json_each(:live)))"
        ),
        rusqlite::named_params! { ":live": &live },
    )?;
    let id = session.to_string();
    let held: i64 = transaction.query_row(
        "SELECT count(*) FROM run_slots WHERE session_id = ?1",
        [&id],
        |row| row.get(0),
    )?;
    if held > 0 {
        return Ok(true);
    }
    let taken: i64 =
        transaction.query_row("SELECT count(*) FROM run_slots", [], |row| row.get(0))?;
    let free = i64::try_from(limit).unwrap_or(i64::MAX) - taken;
    if free <= 0 {
        return Ok(false);
    }
    let older_waiting: i64 = transaction.query_row(
        &format!(
            "SELECT count(*) FROM sessions s, sessions me \
             WHERE me.id = :id AND s.status = 'queued' AND s.id != me.id \
               AND s.id NOT IN (SELECT session_id FROM run_slots) \
               AND s.owner_id IN ({KNOWN_OWNERS}) \
               AND (s.updated_at < me.updated_at OR (s.updated_at = me.updated_at AND s.id < me.id))"
        ),
        rusqlite::named_params! { ":id": &id },
        |row| row.get(0),
    )?;
    if older_waiting >= free {
        return Ok(false);
    }
    transaction.execute(
        "INSERT INTO run_slots (session_id, owner_id, granted_at) VALUES (?1, ?2, ?3)",
        params![id, me.to_string(), now_text],
    )?;
    Ok(true)
}
