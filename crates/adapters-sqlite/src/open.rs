//! Opening a file safely: refuse what is not ours or too new, and damage met on the way,
//! before writing a byte; then set the connection up (WAL, synchronous NORMAL, foreign
//! keys, busy timeout).
//!
//! Only cheap checks run on every open (SQLite's header check, the application id and the
//! schema version): SQLite finds damage when it reads a damaged page, and the full check is
//! `lulu doctor`'s job (see [`crate::examine`]).

use std::path::Path;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::error::OpenError;
use crate::migrations::{self, APPLICATION_ID, SCHEMA_VERSION};
use crate::options::StoreOptions;

/// Which connection of a store is being opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The one connection that writes; it checks and migrates the file.
    Writer,
    /// The connection for reads; opened after the writer, so it only re-checks the version.
    Reader,
}

/// Opens, checks, configures and (for the writer) migrates the database.
pub(crate) fn open_connection(options: &StoreOptions, role: Role) -> Result<Connection, OpenError> {
    // While another process creates or migrates the file, some first-open steps (reading the
    // header, switching to WAL) get SQLITE_BUSY without waiting; retry them like any busy
    // write, within the busy timeout.
    let began = std::time::Instant::now();
    loop {
        match try_open(options, role) {
            Err(error) if error.is_busy() && began.elapsed() < options.busy_timeout => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            result => return result,
        }
    }
}

fn try_open(options: &StoreOptions, role: Role) -> Result<Connection, OpenError> {
    let path = options.path.as_path();
    let sqlite = |source| OpenError::Sqlite {
        path: path.to_owned(),
        source,
    };
    // Never open the file outside SQLite: closing any descriptor of it would drop every
    // POSIX lock this process holds on it, the locks SQLite's WAL safety rests on. SQLite
    // reads the header itself and says whether the file is a database at all.
    create_parent_dir(path)?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut connection = Connection::open_with_flags(path, flags).map_err(sqlite)?;
    connection
        .busy_timeout(options.busy_timeout)
        .map_err(sqlite)?;
    check_identity(&connection, path)?;
    configure(&connection, options)
        .map_err(sqlite)
        .map_err(OpenError::damage_named)?;
    if role == Role::Writer {
        migrations::migrate(&mut connection, path).map_err(OpenError::damage_named)?;
    }
    Ok(connection)
}

fn create_parent_dir(path: &Path) -> Result<(), OpenError> {
    let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) else {
        return Ok(());
    };
    std::fs::create_dir_all(dir).map_err(|source| OpenError::CreateDir {
        dir: dir.to_owned(),
        source,
    })
}

/// Checks the file is an empty database or a Lulu one this build understands, reading only.
/// Returns whether it is empty (a new database).
pub(crate) fn check_identity(connection: &Connection, path: &Path) -> Result<bool, OpenError> {
    // One statement, one snapshot: read separately, a migration committing in between
    // could pair an old application id with a new version and call our own file foreign.
    let (application_id, version, objects): (i32, u32, u64) = connection
        .query_row(
            "SELECT (SELECT application_id FROM pragma_application_id()), \
                    (SELECT user_version FROM pragma_user_version()), \
                    (SELECT count(*) FROM sqlite_schema)",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .map_err(|source| unreadable(path, source))?;
    if application_id == APPLICATION_ID {
        if version > SCHEMA_VERSION {
            return Err(migrations::newer_schema(path, version));
        }
        return Ok(false);
    }
    if application_id == 0 && version == 0 && objects == 0 {
        return Ok(true);
    }
    Err(OpenError::NotLulu {
        path: path.to_owned(),
        reason: format!(
            "it is an SQLite database of another program (application id {application_id:#x}, schema version {version}, {objects} schema objects)"
        ),
    })
}

/// Why SQLite could not read a file's identity. Only a file SQLite opened and found not to
/// be a database is foreign; damage is damage; anything else (no descriptors left, an I/O
/// error, no memory, a lock held too long) is a failure to open, said as such, so nobody
/// deletes a healthy database because a message called it someone else's.
pub(crate) fn unreadable(path: &Path, source: rusqlite::Error) -> OpenError {
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => OpenError::NotLulu {
            path: path.to_owned(),
            reason: "it is not an SQLite database".into(),
        },
        Some(ErrorCode::DatabaseCorrupt) => OpenError::Damaged {
            path: path.to_owned(),
            problem: source.to_string(),
        },
        _ => OpenError::Sqlite {
            path: path.to_owned(),
            source,
        },
    }
}

fn configure(connection: &Connection, options: &StoreOptions) -> rusqlite::Result<()> {
    let mode: String =
        connection.pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(%mode, "SQLite did not switch to WAL; concurrent readers may wait");
    }
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.pragma_update(None, "foreign_keys", true)?;
    if let Some(pages) = options.max_page_count {
        connection.pragma_update(None, "max_page_count", pages)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::ffi;

    use super::*;

    fn classified(code: i32) -> OpenError {
        let source = rusqlite::Error::SqliteFailure(ffi::Error::new(code), None);
        unreadable(Path::new("/data/lulu.db"), source)
    }

    #[test]
    fn only_a_file_sqlite_found_foreign_is_called_not_lulus() {
        assert!(matches!(
            classified(ffi::SQLITE_NOTADB),
            OpenError::NotLulu { .. }
        ));
        assert!(matches!(
            classified(ffi::SQLITE_CORRUPT),
            OpenError::Damaged { .. }
        ));
    }

    #[test]
    fn failing_to_open_or_read_says_what_failed_not_that_the_file_is_foreign() {
        for code in [
            ffi::SQLITE_CANTOPEN,
            ffi::SQLITE_IOERR,
            ffi::SQLITE_NOMEM,
            ffi::SQLITE_PERM,
            ffi::SQLITE_BUSY,
        ] {
            let error = classified(code);
            let message = error.to_string();

            assert!(
                matches!(error, OpenError::Sqlite { .. }),
                "{code}: {error:?}"
            );
            assert!(!message.contains("not a Lulu database"), "{message}");
            assert!(
                message.starts_with("cannot open the database /data/lulu.db: "),
                "{message}"
            );
        }
    }
}
