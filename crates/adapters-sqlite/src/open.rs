//! Opening a file safely: refuse what is not ours, damaged or too new, before writing a byte;
//! then set the connection up (WAL, synchronous NORMAL, foreign keys, busy timeout).

use std::io::Read as _;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::OpenError;
use crate::migrations::{self, APPLICATION_ID, SCHEMA_VERSION};
use crate::options::{IntegrityCheck, StoreOptions};

/// The first 16 bytes of every SQLite 3 database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

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
    if !check_header(path)? {
        create_parent_dir(path)?;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut connection = Connection::open_with_flags(path, flags).map_err(sqlite)?;
    connection
        .busy_timeout(options.busy_timeout)
        .map_err(sqlite)?;
    let fresh = check_identity(&connection, path)?;
    if role == Role::Writer && !fresh && options.integrity_check == IntegrityCheck::Quick {
        quick_check(&connection, path)?;
    }
    configure(&connection, options).map_err(sqlite)?;
    if role == Role::Writer {
        migrations::migrate(&mut connection, path)?;
    }
    Ok(connection)
}

/// Refuses a file with content that does not start like an SQLite database.
/// Returns whether the file has content.
fn check_header(path: &Path) -> Result<bool, OpenError> {
    let read_error = |source| OpenError::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(read_error(error)),
    };
    let mut header = Vec::with_capacity(SQLITE_MAGIC.len());
    file.by_ref()
        .take(SQLITE_MAGIC.len() as u64)
        .read_to_end(&mut header)
        .map_err(read_error)?;
    if header.is_empty() {
        return Ok(false);
    }
    if header != SQLITE_MAGIC {
        return Err(OpenError::NotLulu {
            path: path.to_owned(),
            reason: "it is not an SQLite database".into(),
        });
    }
    Ok(true)
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
fn check_identity(connection: &Connection, path: &Path) -> Result<bool, OpenError> {
    let unreadable = |source: rusqlite::Error| {
        if crate::error::is_busy(&source) {
            // Busy is not foreign: another process is creating or migrating it.
            return OpenError::Sqlite {
                path: path.to_owned(),
                source,
            };
        }
        OpenError::NotLulu {
            path: path.to_owned(),
            reason: format!("SQLite cannot read it: {source}"),
        }
    };
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
        .map_err(unreadable)?;
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

/// Runs `PRAGMA quick_check` and refuses the file unless it answers `ok`.
fn quick_check(connection: &Connection, path: &Path) -> Result<(), OpenError> {
    let damaged = |problem: String| OpenError::Damaged {
        path: path.to_owned(),
        problem,
    };
    let mut statement = connection
        .prepare("PRAGMA quick_check(5)")
        .map_err(|error| damaged(error.to_string()))?;
    let problems: Vec<String> = statement
        .query_map([], |row| row.get(0))
        .and_then(Iterator::collect)
        .map_err(|error| damaged(error.to_string()))?;
    if problems == ["ok"] {
        return Ok(());
    }
    Err(damaged(problems.join("; ")))
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
