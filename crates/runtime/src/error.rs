//! What the runtime's use cases can fail with, in words a user can act on, and the
//! `{code, message}` payload every front end receives. Messages name no front end's
//! commands or flags: each front end adds its own hint for a code (the CLI's
//! `hint.rs`), so the desktop app can phrase its own.

use std::path::PathBuf;
use std::time::Duration;

use lulu_adapters_sqlite::OpenError;
use lulu_domain::ports::StoreError;
use lulu_domain::{InputError, SessionId, SupervisorError};
use serde::{Deserialize, Serialize};

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
    /// The current directory, which relative paths are taken from, cannot be read.
    #[error("cannot read the current directory: {source}")]
    NoCurrentDir {
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// No home directory to put the default database in.
    #[error("no home directory to keep the database in: name a database file")]
    NoDataDir,
    /// The database could not be opened (or examined): not Lulu's, written by a newer
    /// Lulu, damaged, locked, on a full disk, or unreachable. Its message names the file.
    #[error("{source}")]
    Database {
        /// The file.
        path: PathBuf,
        /// Why, as the store said it.
        source: OpenError,
    },
    /// User input was refused.
    #[error(transparent)]
    Input(#[from] InputError),
    /// An id prefix matched nothing.
    #[error("no session id starts with `{0}`")]
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
    #[error("session {id}'s owner did not answer within {} s; it may be stuck: try again, or check the session's state", waited.as_secs())]
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
    /// The error as a front end receives it: a stable code and the message.
    pub fn payload(&self) -> ErrorPayload {
        ErrorPayload {
            code: self.code().to_owned(),
            message: self.to_string(),
        }
    }

    /// A stable word for programs and the desktop app's `{code, message}`.
    pub fn code(&self) -> &str {
        match self {
            Self::InvalidSetting { .. } => "invalid_setting",
            Self::NoCurrentDir { .. } => "no_current_dir",
            Self::NoDataDir => "no_data_dir",
            Self::Database { source, .. } => open_code(source),
            Self::Input(_) => "invalid_input",
            Self::UnknownId(_) => "unknown_id",
            Self::IdTooShort(_) => "id_too_short",
            Self::AmbiguousId { .. } => "ambiguous_id",
            Self::Supervisor(error) => supervisor_code(error),
            Self::Store(error) => store_code(error),
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
        SupervisorError::NoPendingApproval { .. } => "no_pending_approval",
        SupervisorError::NotAcceptingInput { .. } => "not_accepting_input",
        SupervisorError::NotIdle { .. } => "not_idle",
        SupervisorError::Store(error) => store_code(error),
        SupervisorError::Transition(_) => "invalid_transition",
    }
}

/// The stable word for a storage error.
pub fn store_code(error: &StoreError) -> &'static str {
    match error {
        StoreError::Busy { .. } => "database_busy",
        StoreError::Full { .. } => "disk_full",
        StoreError::Damaged { .. } => "database_damaged",
        StoreError::NotFound { .. } => "not_found",
        StoreError::Failed { .. } => "store",
    }
}

/// The stable word for a database that could not be opened.
fn open_code(error: &OpenError) -> &'static str {
    match error {
        OpenError::NoDataDir => "no_data_dir",
        OpenError::Missing { .. } => "database_missing",
        OpenError::NotLulu { .. } => "not_lulu_database",
        OpenError::NewerSchema { .. } => "newer_database",
        OpenError::Damaged { .. } => "database_damaged",
        OpenError::CreateDir { .. }
        | OpenError::Migration { .. }
        | OpenError::Sqlite { .. }
        | OpenError::Thread { .. } => {
            if error.is_busy() {
                "database_busy"
            } else if error.is_disk_full() {
                "disk_full"
            } else {
                "database"
            }
        }
    }
}

/// An error as every front end receives it: `code` to branch on (stable, snake case),
/// `message` to show (names the session or file and the next step, but no front end's
/// commands or flags).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorPayload {
    /// The stable word, e.g. `database_damaged`.
    pub code: String,
    /// What failed, for people.
    pub message: String,
}

impl From<&RuntimeError> for ErrorPayload {
    fn from(error: &RuntimeError) -> Self {
        error.payload()
    }
}

#[cfg(test)]
mod tests {
    use lulu_domain::{SessionStatus, TransitionError};

    use super::*;

    fn id() -> SessionId {
        SessionId::from_uuid(uuid::Uuid::from_u128(
            0x3f2c_9a1e_0000_4000_8000_0000_0000_0001,
        ))
    }

    fn db() -> PathBuf {
        PathBuf::from("/data/lulu.db")
    }

    /// One error of each kind a front end branches on.
    #[allow(clippy::too_many_lines)] // a table of examples, one per error
    fn representative_errors() -> Vec<RuntimeError> {
        let store = |error: StoreError| RuntimeError::Store(error);
        vec![
            RuntimeError::InvalidSetting {
                name: "LULU_MAX_RUNNING",
                value: "many".into(),
                expected: "a whole number of at least 1",
            },
            RuntimeError::NoDataDir,
            RuntimeError::Database {
                path: db(),
                source: OpenError::NotLulu {
                    path: db(),
                    reason: "it holds another program's tables".into(),
                },
            },
            RuntimeError::Database {
                path: db(),
                source: OpenError::NewerSchema {
                    path: db(),
                    found: 9,
                    supported: 4,
                },
            },
            RuntimeError::Database {
                path: db(),
                source: OpenError::Damaged {
                    path: db(),
                    problem: "database disk image is malformed".into(),
                },
            },
            RuntimeError::Database {
                path: db(),
                source: OpenError::Missing { path: db() },
            },
            store(StoreError::Damaged {
                path: "/data/lulu.db".into(),
                problem: "database disk image is malformed".into(),
            }),
            store(StoreError::Busy {
                message: "/data/lulu.db: another process held it for longer than 5000 ms".into(),
            }),
            RuntimeError::Supervisor(SupervisorError::Store(StoreError::Full {
                message: "/data/lulu.db: database or disk is full".into(),
            })),
            store(StoreError::Failed {
                message: "/data/lulu.db: the store was closed".into(),
            }),
            RuntimeError::Input(InputError::EmptyPrompt),
            RuntimeError::UnknownId("3f2c".into()),
            RuntimeError::IdTooShort("3f".into()),
            RuntimeError::AmbiguousId {
                prefix: "3f2c".into(),
                candidates: vec![
                    "3f2c9a1e (fix the bug)".into(),
                    "3f2c77b0 (write docs)".into(),
                ],
            },
            RuntimeError::Supervisor(SupervisorError::NotFound(id())),
            RuntimeError::Supervisor(SupervisorError::NotRunning {
                id: id(),
                status: SessionStatus::Completed,
            }),
            RuntimeError::Supervisor(SupervisorError::StillLive {
                id: id(),
                status: SessionStatus::Running,
            }),
            RuntimeError::Supervisor(SupervisorError::InterruptTimedOut {
                id: id(),
                after: Duration::from_secs(10),
            }),
            RuntimeError::Supervisor(SupervisorError::NoPendingApproval {
                id: id(),
                request_id: Some("3358a92f".into()),
            }),
            RuntimeError::Supervisor(SupervisorError::Transition(TransitionError {
                status: SessionStatus::Completed,
                event: "exited",
            })),
            RuntimeError::Refused {
                code: "not_running".into(),
                message: "session 3f2c9a1e is completed: there is no running agent to interrupt"
                    .into(),
            },
            RuntimeError::NoAnswer {
                id: id(),
                waited: Duration::from_secs(15),
            },
            RuntimeError::OwnerStopped {
                id: id(),
                pid: 4711,
                state: "stopped",
            },
            RuntimeError::Daemon("it did not answer within 20 s".into()),
            RuntimeError::DaemonVersion {
                socket: PathBuf::from("/run/user/1000/lulu/lulu-3f2c9a1e.sock"),
                theirs: crate::protocol::Hello {
                    protocol: 2,
                    lulu: "0.2.0".into(),
                    pid: 4711,
                },
                ours: crate::protocol::Hello {
                    protocol: 1,
                    lulu: "0.1.0".into(),
                    pid: 4712,
                },
            },
        ]
    }

    #[test]
    fn errors_reach_front_ends_as_a_stable_code_and_a_message() {
        let payloads: Vec<ErrorPayload> = representative_errors()
            .iter()
            .map(ErrorPayload::from)
            .collect();

        insta::assert_snapshot!(serde_json::to_string_pretty(&payloads).unwrap());
    }

    #[test]
    fn newer_foreign_damaged_locked_and_full_databases_have_distinct_codes() {
        let errors = representative_errors();
        let codes: Vec<&str> = errors[2..9].iter().map(RuntimeError::code).collect();
        let distinct: std::collections::HashSet<&str> = codes.iter().copied().collect();

        assert_eq!(codes.len(), 7);
        // Damage met while opening and damage met later are the same thing to a user.
        assert_eq!(distinct.len(), 6, "{codes:?}");
    }

    #[test]
    fn no_message_names_a_front_ends_command_or_flag() {
        for error in representative_errors() {
            let message = error.to_string();
            for front_end_word in [
                "`lulu ",
                "--db",
                "--claude-bin",
                "LULU_DB",
                "LULU_CLAUDE_BIN",
            ] {
                assert!(!message.contains(front_end_word), "{message}");
            }
        }
    }

    #[test]
    fn a_store_error_keeps_its_typed_source() {
        let error = RuntimeError::Database {
            path: db(),
            source: OpenError::Missing { path: db() },
        };

        let source = std::error::Error::source(&error).expect("the store's error is kept");
        assert!(source.downcast_ref::<OpenError>().is_some());
    }
}
