//! What the runtime's use cases can fail with, in words a user can act on.

use std::path::PathBuf;
use std::time::Duration;

use lulu_domain::ports::StoreError;
use lulu_domain::{InputError, SessionId, SupervisorError};

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A setting from the environment has the wrong form.
    #[error("{name} is `{value}`, but it must be {expected}")]
    InvalidSetting {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
    /// No home directory to put the default database in.
    #[error("no home directory to keep the database in: pass --db PATH or set LULU_DB")]
    NoDataDir,
    /// The database could not be opened.
    #[error("could not open the database {}: {message}", path.display())]
    Database {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// User input was refused.
    #[error(transparent)]
    Input(#[from] InputError),
    /// An id prefix matched nothing.
    #[error("no session id starts with `{0}`: see `lulu list`")]
    UnknownId(String),
    /// An id prefix was too short to be useful.
    #[error("`{0}` is too short: give at least 4 characters of the session id")]
    IdTooShort(String),
    /// An id prefix matched several sessions.
    #[error("`{prefix}` matches several sessions: {}; give more characters", candidates.join(", "))]
    AmbiguousId {
        /// The prefix.
        prefix: String,
        /// Short ids and titles of the matches.
        candidates: Vec<String>,
    },
    /// The supervisor refused or failed.
    #[error(transparent)]
    Supervisor(#[from] SupervisorError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The owner of the session refused a control request.
    #[error("{message}")]
    Refused {
        /// A stable word for programs.
        code: String,
        /// What happened.
        message: String,
    },
    /// The owner of the session did not answer in time.
    #[error("session {id}'s owner did not answer within {} s; it may be stuck: try again, or check `lulu show {id}`", waited.as_secs())]
    NoAnswer {
        /// The session.
        id: SessionId,
        /// How long the caller waited.
        waited: Duration,
    },
    /// The session's owner process exists on this host but is stopped, so it cannot answer.
    #[error("session {id}'s owner (lulu pid {pid}) is {state}, so it cannot answer; the request is carried out once it continues (`kill -CONT {pid}`)")]
    OwnerStopped {
        /// The session.
        id: SessionId,
        /// The owner's process id.
        pid: u32,
        /// Its process state in words.
        state: &'static str,
    },
    /// The daemon could not be reached, started, or understood.
    #[error("Lulu daemon: {0}")]
    Daemon(String),
    /// The daemon speaks another protocol version than this client.
    #[error("the Lulu daemon on {} speaks protocol {} (Lulu {}), this client protocol {} (Lulu {}); restart the daemon to use this version", socket.display(), theirs.protocol, theirs.lulu, ours.protocol, ours.lulu)]
    DaemonVersion {
        /// The daemon's socket.
        socket: PathBuf,
        /// The daemon's hello.
        theirs: crate::protocol::Hello,
        /// This client's hello.
        ours: crate::protocol::Hello,
    },
}

impl RuntimeError {
    /// A stable word for programs and the desktop app's `{code, message}`.
    pub fn code(&self) -> &str {
        match self {
            Self::InvalidSetting { .. } => "invalid_setting",
            Self::NoDataDir => "no_data_dir",
            Self::Database { .. } => "database",
            Self::Input(_) => "invalid_input",
            Self::UnknownId(_) | Self::IdTooShort(_) => "unknown_id",
            Self::AmbiguousId { .. } => "ambiguous_id",
            Self::Supervisor(error) => supervisor_code(error),
            Self::Store(_) => "store",
            Self::Refused { code, .. } => code,
            Self::NoAnswer { .. } => "no_answer",
            Self::OwnerStopped { .. } => "owner_stopped",
            Self::Daemon(_) => "daemon",
            Self::DaemonVersion { .. } => "daemon_version",
        }
    }
}

/// The stable word for a supervisor error.
pub fn supervisor_code(error: &SupervisorError) -> &'static str {
    match error {
        SupervisorError::NotFound(_) => "not_found",
        SupervisorError::OperationInProgress(_) => "operation_in_progress",
        SupervisorError::NotRunning { .. } => "not_running",
        SupervisorError::NotResumable { .. } => "not_resumable",
        SupervisorError::StillLive { .. } => "still_live",
        SupervisorError::NotOwnedHere { .. } => "not_owned_here",
        SupervisorError::InterruptTimedOut { .. } => "interrupt_timed_out",
        SupervisorError::EndNotStored { .. } => "end_not_stored",
        SupervisorError::Store(_) => "store",
        SupervisorError::Transition(_) => "invalid_transition",
    }
}
