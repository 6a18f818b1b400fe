//! What several Lulu processes use to share sessions through the store: owner leases,
//! recorded processes, the control mailbox and the change feed.

use std::time::Duration;

use chrono::{DateTime, Utc};
use lulu_domain::ports::StoreError;
use lulu_domain::{OwnerId, ProcessRecord, RunId, Session, SessionId};

use crate::changes::{self, ChangeCursor, Changes};
use crate::control::{self, ControlAction, ControlAnswer, ControlRequest, ControlRequestId};
use crate::leases::{self, LeaseRenewal, OwnerLease};
use crate::processes;
use crate::store::SqliteStore;

impl SqliteStore {
    /// Takes (or retakes) `lease` for its owner.
    #[tracing::instrument(skip_all, fields(owner = %lease.owner))]
    pub async fn acquire_lease(&self, lease: &OwnerLease) -> Result<(), StoreError> {
        let lease = lease.clone();
        self.write(move |transaction| leases::acquire(transaction, &lease))
            .await
    }

    /// Extends `owner`'s lease to `now + ttl`, unless it has lapsed or was released
    /// ([`LeaseRenewal::Lost`]: stop acting as the owner of its sessions).
    pub async fn renew_lease(
        &self,
        owner: OwnerId,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<LeaseRenewal, StoreError> {
        self.write(move |transaction| leases::renew(transaction, owner, now, ttl))
            .await
    }

    /// Drops `owner`'s lease; `Ok(false)` if it had none.
    pub async fn release_lease(&self, owner: OwnerId) -> Result<bool, StoreError> {
        self.write(move |transaction| leases::release(transaction, owner))
            .await
    }

    /// Leases that lapsed at or before `now`.
    pub async fn expired_leases(&self, now: DateTime<Utc>) -> Result<Vec<OwnerLease>, StoreError> {
        self.read(move |transaction| leases::expired(transaction, now))
            .await
    }

    /// Live sessions nobody supervises: no owner, or an owner whose lease is missing or
    /// lapsed at `now`. Recovery kills their recorded processes and settles them.
    pub async fn orphaned_sessions(&self, now: DateTime<Utc>) -> Result<Vec<Session>, StoreError> {
        self.read(move |transaction| leases::orphaned_sessions(transaction, now))
            .await
    }

    /// Records processes of a run (idempotent: a known process only has its group updated).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the run does not exist.
    pub async fn record_processes(
        &self,
        run_id: RunId,
        processes: &[ProcessRecord],
    ) -> Result<(), StoreError> {
        let processes = processes.to_vec();
        self.write(move |transaction| processes::record(transaction, run_id, &processes))
            .await
    }

    /// A run's recorded processes.
    pub async fn recorded_processes(
        &self,
        run_id: RunId,
    ) -> Result<Vec<ProcessRecord>, StoreError> {
        self.read(move |transaction| processes::recorded(transaction, run_id))
            .await
    }

    /// Leaves a request for the session's owner and returns its id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the session does not exist.
    #[tracing::instrument(skip_all, fields(session_id = %session_id))]
    pub async fn enqueue_control(
        &self,
        session_id: SessionId,
        action: ControlAction,
        now: DateTime<Utc>,
    ) -> Result<ControlRequestId, StoreError> {
        self.write(move |transaction| control::enqueue(transaction, session_id, &action, now))
            .await
    }

    /// Claims up to `limit` unclaimed requests for sessions `owner` owns, oldest first.
    /// Each request is claimed by exactly one caller, even across processes.
    pub async fn claim_controls(
        &self,
        owner: OwnerId,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<ControlRequest>, StoreError> {
        self.write(move |transaction| control::claim(transaction, owner, limit, now))
            .await
    }

    /// Answers a request; `Ok(false)` if it had been answered already (the first answer stays).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if there is no such request (or its session was deleted).
    pub async fn answer_control(
        &self,
        id: ControlRequestId,
        answer: ControlAnswer,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.write(move |transaction| control::answer(transaction, id, &answer, now))
            .await
    }

    /// Withdraws a request no owner has claimed: it will never be carried out. `Ok(false)`
    /// if an owner claimed or answered it first.
    pub async fn withdraw_control(
        &self,
        id: ControlRequestId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.write(move |transaction| control::withdraw(transaction, id, now))
            .await
    }

    /// The answer to a request, `Ok(None)` while it is pending; for the requester to poll.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if there is no such request (or its session was deleted).
    pub async fn control_answer(
        &self,
        id: ControlRequestId,
    ) -> Result<Option<ControlAnswer>, StoreError> {
        self.read(move |transaction| control::answer_of(transaction, id))
            .await
    }

    /// Refuses with `message` every unanswered request whose session has no live owner at
    /// `now`, and returns their ids.
    pub async fn refuse_orphaned_controls(
        &self,
        now: DateTime<Utc>,
        message: &str,
    ) -> Result<Vec<ControlRequestId>, StoreError> {
        let message = message.to_owned();
        self.write(move |transaction| control::refuse_orphaned(transaction, now, &message))
            .await
    }

    /// The change feed's current position: poll [`Self::changes_since`] from here to see
    /// only what changes from now on.
    pub async fn change_cursor(&self) -> Result<ChangeCursor, StoreError> {
        self.read(changes::current).await
    }

    /// Everything saved, deleted or appended after `cursor`, read in one snapshot, with the
    /// cursor to pass next time.
    pub async fn changes_since(&self, cursor: ChangeCursor) -> Result<Changes, StoreError> {
        self.read(move |transaction| changes::since(transaction, cursor))
            .await
    }
}
