//! The control store port: what several Lulu processes sharing one database need to
//! cooperate — owner leases, session ownership, recorded processes, the control mailbox,
//! run slots, and a change feed.
//!
//! A store is opened *as* an owner. `SessionStore::save` of a live status stamps that
//! owner on the session; a settled status clears it. Every method is one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::approval::ApprovalAnswer;
use crate::ids::{ControlRequestId, OwnerId, RunId, SessionId};
use crate::input::Prompt;
use crate::interrupt::InterruptMode;
use crate::ports::{ChangeCursor, Changes, StoreError};
use crate::process::ProcessRecord;
use crate::session::{Session, SessionStatus};

/// A Lulu process's claim to be alive, renewed while it owns runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerLease {
    /// The owner.
    pub owner: OwnerId,
    /// Its process id.
    pub pid: u32,
    /// Its start time in clock ticks after boot (pins the pid down).
    pub start_time: u64,
    /// The host it runs on.
    pub host: String,
    /// Last renewal.
    pub heartbeat_at: DateTime<Utc>,
    /// When the lease lapses without renewal.
    pub expires_at: DateTime<Utc>,
}

/// What another process asks a session's owner to do: every lifecycle operation on a live
/// session, so a session owned by a process that cannot be reached otherwise is still
/// interrupted, answered, sent to and closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlAction {
    /// Interrupt the running session.
    Interrupt {
        /// With a grace period, or forcefully at once.
        mode: InterruptMode,
    },
    /// Continue it with a follow-up prompt.
    Resume {
        /// The follow-up prompt.
        prompt: Prompt,
    },
    /// Answer a pending permission request.
    Answer {
        /// The request answered; the oldest pending one when `None`.
        request_id: Option<String>,
        /// The answer.
        answer: ApprovalAnswer,
    },
    /// Write a follow-up message on the live run's stdin.
    Send {
        /// The message.
        message: Prompt,
    },
    /// Close a kept-open run that is idle between turns.
    Close,
}

/// A claimed control request, for its owner to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlRequest {
    /// Request id.
    pub id: ControlRequestId,
    /// The session.
    pub session_id: SessionId,
    /// What to do.
    pub action: ControlAction,
    /// When it was asked.
    pub requested_at: DateTime<Utc>,
}

/// The owner's answer to a control request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlAnswer {
    /// Carried out; the session's status afterwards.
    Succeeded {
        /// Status after the operation.
        status: SessionStatus,
    },
    /// Not carried out.
    Refused {
        /// A stable word for programs (`operation_in_progress`, `interrupt_timed_out`, ...).
        code: String,
        /// What happened, for people.
        message: String,
    },
}

/// A live session with the owner stamped on it.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedSession {
    /// The session.
    pub session: Session,
    /// Its owner, if any.
    pub owner: Option<OwnerId>,
}

/// Cross-process cooperation through the shared database.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ControlStore: Send + Sync {
    /// The owner this store acts as.
    fn owner(&self) -> OwnerId;

    /// Stores (or replaces) this owner's lease.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn put_lease(&self, lease: &OwnerLease) -> Result<(), StoreError>;

    /// Drops this owner's lease (on a clean exit).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn drop_lease(&self) -> Result<(), StoreError>;

    /// Every lease, current or lapsed.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn leases(&self) -> Result<Vec<OwnerLease>, StoreError>;

    /// Forgets an owner found gone: drops its lease and its claims on settled sessions.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn forget_owner(&self, owner: OwnerId) -> Result<(), StoreError>;

    /// Every live session with its owner stamp.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn live_sessions(&self) -> Result<Vec<OwnedSession>, StoreError>;

    /// Makes this store's owner the owner of a settled session that no current lease owns,
    /// so no other process starts an operation on it meanwhile. `Ok(false)` if it is live
    /// or owned by an owner with a current lease.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn claim_session(&self, id: SessionId) -> Result<bool, StoreError>;

    /// Undoes [`claim_session`](Self::claim_session) if the session is still settled and ours.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn unclaim_session(&self, id: SessionId) -> Result<(), StoreError>;

    /// Records processes of a run (idempotent).
    ///
    /// # Errors
    /// [`StoreError`]; `NotFound` for an unknown run.
    async fn record_processes(
        &self,
        run_id: RunId,
        processes: &[ProcessRecord],
    ) -> Result<(), StoreError>;

    /// The processes recorded for a run.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn recorded_processes(&self, run_id: RunId) -> Result<Vec<ProcessRecord>, StoreError>;

    /// Asks the owner of `session_id` to do `action`.
    ///
    /// # Errors
    /// [`StoreError`]; `NotFound` for an unknown session.
    async fn enqueue_control(
        &self,
        session_id: SessionId,
        action: &ControlAction,
        now: DateTime<Utc>,
    ) -> Result<ControlRequestId, StoreError>;

    /// Claims the pending requests for sessions this owner owns; each request is claimed
    /// by exactly one caller, however many race.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn claim_controls(&self) -> Result<Vec<ControlRequest>, StoreError>;

    /// Answers a claimed request.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn answer_control(
        &self,
        id: ControlRequestId,
        answer: &ControlAnswer,
    ) -> Result<(), StoreError>;

    /// Withdraws a request no owner has claimed yet: it is answered `Refused` with code
    /// `withdrawn` and will never be carried out. Returns `false` (and changes nothing)
    /// when an owner has claimed or answered it already.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn withdraw_control(
        &self,
        id: ControlRequestId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// The answer to a request, once there is one.
    ///
    /// # Errors
    /// [`StoreError`]; `NotFound` for an unknown request.
    async fn control_answer(
        &self,
        id: ControlRequestId,
    ) -> Result<Option<ControlAnswer>, StoreError>;

    /// Takes a run slot for `session_id` if fewer than `limit` are held across all
    /// processes and no session queued before it is still waiting. Slots of sessions that
    /// settled, or whose owner has no current lease, are freed first.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn try_take_slot(
        &self,
        session_id: SessionId,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Sessions whose id (hyphenated text) starts with `prefix`, at most `limit`.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn sessions_with_prefix(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<Session>, StoreError>;

    /// The change feed's current position: poll [`changes_since`](Self::changes_since)
    /// from here to see only what changes from now on.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn change_cursor(&self) -> Result<ChangeCursor, StoreError>;

    /// Everything any process saved, deleted or appended after `cursor`, read in one
    /// snapshot, with the cursor to pass next time. Nothing is ever skipped: the feed's
    /// order is commit order.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn changes_since(&self, cursor: ChangeCursor) -> Result<Changes, StoreError>;
}
