//! What the supervisor's operations can refuse or fail with.

use std::time::Duration;

use crate::ids::SessionId;
use crate::lifecycle::TransitionError;
use crate::ports::StoreError;
use crate::session::SessionStatus;

/// Why a supervisor operation did not happen (or, for an interrupt, did not finish).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SupervisorError {
    /// No such session.
    #[error("session {0} was not found")]
    NotFound(SessionId),
    /// Another lifecycle operation on this session is in flight.
    #[error("another operation on session {0} is in progress; try again when it has finished")]
    OperationInProgress(SessionId),
    /// Interrupt of a session that has no live run.
    #[error("session {id} is {status}: there is no running agent to interrupt")]
    NotRunning {
        /// The session.
        id: SessionId,
        /// Its status.
        status: SessionStatus,
    },
    /// Resume of a session that is still live.
    #[error("session {id} is {status}: only an interrupted, completed or failed session can be resumed; interrupt it first")]
    NotResumable {
        /// The session.
        id: SessionId,
        /// Its status.
        status: SessionStatus,
    },
    /// Delete of a session whose run is still queued or alive.
    #[error("session {id} is {status}: interrupt it before deleting it")]
    StillLive {
        /// The session.
        id: SessionId,
        /// Its status.
        status: SessionStatus,
    },
    /// The session's run is owned by another Lulu process.
    #[error("session {id} is {status} and its run belongs to another Lulu process")]
    NotOwnedHere {
        /// The session.
        id: SessionId,
        /// Its status.
        status: SessionStatus,
    },
    /// The interrupt deadline passed; the agent is still running.
    #[error("interrupt of session {id} timed out after {} s; the agent is still running", after.as_secs())]
    InterruptTimedOut {
        /// The session.
        id: SessionId,
        /// The deadline that passed.
        after: Duration,
    },
    /// The session's agent has exited, but its end could not be stored yet; the owner
    /// keeps retrying.
    #[error("the agent of session {id} has already exited; the session ends {status} once Lulu can store that, which it could not yet ({reason}); it keeps retrying")]
    EndNotStored {
        /// The session.
        id: SessionId,
        /// The status it ends in once stored.
        status: SessionStatus,
        /// Why the store refused.
        reason: String,
    },
    /// An answer to a permission request that is not (or no longer) pending.
    #[error("session {id} has no pending permission request{}: it was already answered, cancelled by the agent, or its turn ended", request_id.as_ref().map(|request| format!(" {request}")).unwrap_or_default())]
    NoPendingApproval {
        /// The session.
        id: SessionId,
        /// The request named, if one was.
        request_id: Option<String>,
    },
    /// A follow-up to a session whose run takes no more input.
    #[error("session {id} is {status} and its agent takes no more messages: {reason}")]
    NotAcceptingInput {
        /// The session.
        id: SessionId,
        /// Its status.
        status: SessionStatus,
        /// Why, and what to do instead.
        reason: String,
    },
    /// Close of a session that is not a kept-open run idle between turns.
    #[error("session {id} is {status}: only a kept-open session that is idle between turns can be closed; interrupt it to stop it now")]
    NotIdle {
        /// The session.
        id: SessionId,
        /// Its status.
        status: SessionStatus,
    },
    /// The store failed; nothing was changed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The state machine refused the change.
    #[error(transparent)]
    Transition(#[from] TransitionError),
}
