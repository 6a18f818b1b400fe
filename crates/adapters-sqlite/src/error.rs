//! What can go wrong: opening a file ([`OpenError`]), and the mapping of SQLite's errors
//! onto the domain's [`StoreError`] for everything after that.

use std::path::PathBuf;
use std::time::Duration;

use lulu_domain::ports::StoreError;
use rusqlite::ErrorCode;

/// Why a database file could not be opened. The file was not modified.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// No platform data directory could be found for the default path.
    #[error("cannot find a data directory for the Lulu database: name a database file")]
    NoDataDir,
    /// The directory for a new database could not be created.
    #[error("cannot create the directory {} for the Lulu database: {source}", dir.display())]
    CreateDir {
        /// The directory.
        dir: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// There is no file to check.
    #[error("there is no database at {}: nothing to check (Lulu creates it when first used)", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// The file exists but is not a Lulu database.
    #[error("{} is not a Lulu database ({reason}); it was left untouched: use another database file", path.display())]
    NotLulu {
        /// The file.
        path: PathBuf,
        /// What gave it away.
        reason: String,
    },
    /// SQLite found the file damaged.
    #[error("the database {} is damaged ({problem}); it was left untouched: restore a backup or use another database file", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What SQLite reported.
        problem: String,
    },
    /// The file was written by a newer Lulu.
    #[error("the database {} has schema version {found}, but this Lulu knows versions up to {supported}: it was written by a newer Lulu and was left untouched; upgrade Lulu or use another database file", path.display())]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// Its `user_version`.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },
    /// A migration failed; its transaction was rolled back.
    #[error("cannot upgrade the database {} to schema version {version}: {source}", path.display())]
    Migration {
        /// The file.
        path: PathBuf,
        /// The version being applied.
        version: u32,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// SQLite refused to open or configure the file.
    #[error("cannot open the database {}: {source}", path.display())]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// The thread that serves the database could not be started.
    #[error("cannot start the thread serving the database {}: {source}", path.display())]
    Thread {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

/// A failure inside one unit of database work, before it is given the file's context.
#[derive(Debug)]
pub(crate) enum DbError {
    /// SQLite failed.
    Sqlite(rusqlite::Error),
    /// A referenced row does not exist, e.g. `run 8d12…`.
    NotFound(String),
    /// A stored value could not be turned back into a domain value.
    Invalid(String),
    /// The thread serving the database is gone.
    WorkerGone,
}

/// Whether SQLite said another connection holds the lock.
pub(crate) fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Whether SQLite met damage: a page that does not read as it should.
pub(crate) fn is_damage(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
    )
}

impl OpenError {
    /// The same error, unless SQLite's reason was damage met after the file was identified
    /// as Lulu's: then [`OpenError::Damaged`].
    pub(crate) fn damage_named(self) -> Self {
        match self {
            Self::Sqlite { path, source } | Self::Migration { path, source, .. }
                if is_damage(&source) =>
            {
                Self::Damaged {
                    path,
                    problem: source.to_string(),
                }
            }
            other => other,
        }
    }

    /// Whether opening failed only because another connection held the lock.
    pub fn is_busy(&self) -> bool {
        self.sqlite_source().is_some_and(is_busy)
    }

    /// Whether opening failed because the disk (or the database's size limit) is full.
    pub fn is_disk_full(&self) -> bool {
        self.sqlite_source()
            .is_some_and(|error| error.sqlite_error_code() == Some(ErrorCode::DiskFull))
    }

    /// SQLite's own error, when SQLite refused.
    fn sqlite_source(&self) -> Option<&rusqlite::Error> {
        match self {
            Self::Sqlite { source, .. } | Self::Migration { source, .. } => Some(source),
            Self::NoDataDir
            | Self::CreateDir { .. }
            | Self::Missing { .. }
            | Self::NotLulu { .. }
            | Self::Damaged { .. }
            | Self::NewerSchema { .. }
            | Self::Thread { .. } => None,
        }
    }
}

impl DbError {
    /// The same failure again, for each of several callers it reached (a group commit).
    pub(crate) fn replicate(&self) -> Self {
        match self {
            Self::Sqlite(rusqlite::Error::SqliteFailure(code, message)) => {
                Self::Sqlite(rusqlite::Error::SqliteFailure(*code, message.clone()))
            }
            Self::Sqlite(other) => Self::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                Some(other.to_string()),
            )),
            Self::NotFound(what) => Self::NotFound(what.clone()),
            Self::Invalid(problem) => Self::Invalid(problem.clone()),
            Self::WorkerGone => Self::WorkerGone,
        }
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Sqlite(error)
    }
}

impl From<serde_json::Error> for DbError {
    fn from(error: serde_json::Error) -> Self {
        Self::Invalid(format!(
            "a JSON column could not be read or written: {error}"
        ))
    }
}

/// The file and settings error messages refer to.
#[derive(Debug, Clone)]
pub(crate) struct ErrorContext {
    /// The database file.
    pub path: PathBuf,
    /// How long a write waits for another process's write.
    pub busy_timeout: Duration,
}

impl ErrorContext {
    /// Translates a failure into the domain's terms, naming the file.
    pub fn store_error(&self, error: DbError) -> StoreError {
        let path = self.path.display();
        match error {
            DbError::NotFound(what) => StoreError::NotFound { what },
            DbError::Invalid(problem) => StoreError::Failed {
                message: format!("{path}: {problem}"),
            },
            DbError::WorkerGone => StoreError::Failed {
                message: format!("{path}: the store was closed"),
            },
            DbError::Sqlite(error) => match error.sqlite_error_code() {
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy {
                    message: format!(
                        "{path}: another process held it for longer than {} ms ({error})",
                        self.busy_timeout.as_millis()
                    ),
                },
                Some(ErrorCode::DiskFull) => StoreError::Full {
                    message: format!("{path}: {error}"),
                },
                // SQLite meets damage when it reads a damaged page, at any time after open.
                _ if is_damage(&error) => StoreError::Damaged {
                    path: path.to_string(),
                    problem: error.to_string(),
                },
                _ => StoreError::Failed {
                    message: format!("{path}: {error}"),
                },
            },
        }
    }
}

/// `what` was looked for in `path` and is not there.
pub(crate) fn not_found(what: impl Into<String>) -> DbError {
    DbError::NotFound(what.into())
}

#[cfg(test)]
mod tests {
    use rusqlite::ffi;

    use super::*;

    fn context() -> ErrorContext {
        ErrorContext {
            path: PathBuf::from("/data/lulu.db"),
            busy_timeout: Duration::from_secs(5),
        }
    }

    fn sqlite_error(code: i32) -> DbError {
        DbError::Sqlite(rusqlite::Error::SqliteFailure(ffi::Error::new(code), None))
    }

    #[test]
    fn damage_met_after_open_is_a_damaged_database_naming_the_file() {
        for code in [ffi::SQLITE_CORRUPT, ffi::SQLITE_NOTADB] {
            let error = context().store_error(sqlite_error(code));

            assert!(matches!(error, StoreError::Damaged { .. }), "{error:?}");
            let message = error.to_string();
            assert!(
                message.starts_with("the database /data/lulu.db is damaged ("),
                "{message}"
            );
        }
    }

    #[test]
    fn busy_and_full_are_told_apart_from_other_failures() {
        let busy = context().store_error(sqlite_error(ffi::SQLITE_BUSY));
        let full = context().store_error(sqlite_error(ffi::SQLITE_FULL));

        assert!(matches!(busy, StoreError::Busy { .. }), "{busy:?}");
        assert!(matches!(full, StoreError::Full { .. }), "{full:?}");
    }

    #[test]
    fn an_open_refused_for_a_lock_or_a_full_disk_says_which() {
        let refused = |code| OpenError::Sqlite {
            path: PathBuf::from("/data/lulu.db"),
            source: rusqlite::Error::SqliteFailure(ffi::Error::new(code), None),
        };

        assert!(refused(ffi::SQLITE_BUSY).is_busy());
        assert!(!refused(ffi::SQLITE_BUSY).is_disk_full());
        assert!(refused(ffi::SQLITE_FULL).is_disk_full());
        assert!(!refused(ffi::SQLITE_IOERR).is_busy());
        assert!(!refused(ffi::SQLITE_IOERR).is_disk_full());
    }

    #[test]
    fn damage_met_while_opening_a_lulu_file_is_called_damage() {
        let source = rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_CORRUPT), None);
        let error = OpenError::Migration {
            path: PathBuf::from("/data/lulu.db"),
            version: 3,
            source,
        }
        .damage_named();

        assert!(matches!(error, OpenError::Damaged { .. }), "{error:?}");
        assert!(error.to_string().contains("is damaged"), "{error}");
    }

    #[test]
    fn other_failures_are_not_called_damage() {
        let message = context()
            .store_error(sqlite_error(ffi::SQLITE_IOERR))
            .to_string();

        assert!(!message.contains("damaged"), "{message}");
        assert!(matches!(
            context().store_error(sqlite_error(ffi::SQLITE_IOERR)),
            StoreError::Failed { .. }
        ));
        assert!(message.contains("/data/lulu.db"), "{message}");
    }
}
