//! The full check behind `lulu doctor`: SQLite's integrity check, how many rows the main
//! tables hold, rows whose parent row is gone, and the size of the file and its WAL.
//! Opening runs only cheap checks; this one reads every page, so it runs on demand. It
//! only reads: a damaged file is reported, never repaired or rewritten.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{DbError, OpenError};
use crate::migrations::schema_version;
use crate::open::check_identity;
use crate::worker::Worker;

/// At most this many problems of `PRAGMA integrity_check` are reported.
pub const MAX_PROBLEMS: usize = 20;

/// What the full check of a database found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseReport {
    /// The file.
    pub path: PathBuf,
    /// Its schema version (0 for a new, empty file).
    pub schema_version: u32,
    /// What SQLite found wrong (at most [`MAX_PROBLEMS`]); empty when the file is sound.
    pub problems: Vec<String>,
    /// Bytes in the database file (pages times page size), when readable.
    pub file_bytes: Option<u64>,
    /// Bytes in its write-ahead log (0 when there is none).
    pub wal_bytes: u64,
    /// How many rows the main tables hold, when they could be counted.
    pub rows: Option<RowCounts>,
    /// Rows whose parent row is gone, per table and parent (only those with some).
    pub orphans: Vec<OrphanedRows>,
}

/// How many rows the main tables hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowCounts {
    /// Sessions.
    pub sessions: u64,
    /// Runs, over all sessions.
    pub runs: u64,
    /// Transcript events, over all runs.
    pub events: u64,
}

/// Rows of one table that point at a parent row that does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrphanedRows {
    /// The table holding them, e.g. `runs`.
    pub table: String,
    /// The table their parent should be in, e.g. `sessions`.
    pub parent: String,
    /// How many.
    pub rows: u64,
}

impl DatabaseReport {
    /// Whether the file is sound: SQLite found nothing wrong and no row lost its parent.
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty() && self.orphans.is_empty()
    }
}

/// Runs the full check of the Lulu database at `path`, reading only.
///
/// # Errors
/// [`OpenError::Missing`] when there is no file, [`OpenError::NotLulu`] or
/// [`OpenError::NewerSchema`] when it is not a database this build understands, and
/// [`OpenError::Sqlite`] when it cannot be opened. Damage is not an error: it is what the
/// report is for.
pub async fn examine(path: &Path) -> Result<DatabaseReport, OpenError> {
    let opened = path.to_owned();
    let worker = Worker::start("lulu-sqlite-doctor", move || open_read_only(&opened), path).await?;
    let examined = path.to_owned();
    let report = worker
        .run(move |connection| Ok(examine_connection(connection, &examined)))
        .await;
    worker.close().await;
    match report {
        Ok(report) => report,
        Err(DbError::Sqlite(source)) => Err(OpenError::Sqlite {
            path: path.to_owned(),
            source,
        }),
        Err(DbError::NotFound(_) | DbError::Invalid(_) | DbError::WorkerGone) => {
            Err(OpenError::Thread {
                path: path.to_owned(),
                source: std::io::Error::other("the database thread stopped while checking"),
            })
        }
    }
}

fn open_read_only(path: &Path) -> Result<Connection, OpenError> {
    // `stat`, not `open`: no descriptor of the file outside SQLite.
    if !path.try_exists().unwrap_or(true) {
        return Err(OpenError::Missing {
            path: path.to_owned(),
        });
    }
    let sqlite = |source| OpenError::Sqlite {
        path: path.to_owned(),
        source,
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags).map_err(sqlite)?;
    connection
        .busy_timeout(Duration::from_secs(5))
        .map_err(sqlite)?;
    Ok(connection)
}

fn examine_connection(connection: &Connection, path: &Path) -> Result<DatabaseReport, OpenError> {
    let mut report = DatabaseReport {
        path: path.to_owned(),
        schema_version: 0,
        problems: Vec::new(),
        file_bytes: None,
        wal_bytes: wal_bytes(path),
        rows: None,
        orphans: Vec::new(),
    };
    match check_identity(connection, path) {
        Ok(_) => {}
        Err(OpenError::Damaged { problem, .. }) => {
            report.problems.push(problem);
            return Ok(report);
        }
        Err(error) => return Err(error),
    }
    let mut note = |error: rusqlite::Error| report.problems.push(error.to_string());
    let version = schema_version(connection).map_err(&mut note).ok();
    let file_bytes = connection
        .query_row(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            [],
            |row| row.get(0),
        )
        .map_err(&mut note)
        .ok();
    let integrity = integrity_problems(connection).unwrap_or_else(|error| vec![error.to_string()]);
    report.schema_version = version.unwrap_or_default();
    report.file_bytes = file_bytes;
    report.problems.extend(integrity);
    if report.schema_version == 0 {
        return Ok(report);
    }
    match rows_and_orphans(connection) {
        Ok((rows, orphans)) => {
            report.rows = Some(rows);
            report.orphans = orphans;
        }
        Err(error) => report.problems.push(error.to_string()),
    }
    Ok(report)
}

/// What `PRAGMA integrity_check` reports, without its `ok`.
fn integrity_problems(connection: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut statement = connection.prepare(&format!("PRAGMA integrity_check({MAX_PROBLEMS})"))?;
    let lines: Vec<String> = statement
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(lines.into_iter().filter(|line| line != "ok").collect())
}

/// Row counts and orphans, read in one snapshot.
fn rows_and_orphans(connection: &Connection) -> rusqlite::Result<(RowCounts, Vec<OrphanedRows>)> {
    let transaction = connection.unchecked_transaction()?;
    let rows = transaction.query_row(
        "SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM runs), \
                (SELECT count(*) FROM events)",
        [],
        |row| {
            Ok(RowCounts {
                sessions: row.get(0)?,
                runs: row.get(1)?,
                events: row.get(2)?,
            })
        },
    )?;
    let mut statement = transaction.prepare(
        "SELECT \"table\", parent, count(*) FROM pragma_foreign_key_check() \
         GROUP BY 1, 2 ORDER BY 1, 2",
    )?;
    let orphans = statement
        .query_map([], |row| {
            Ok(OrphanedRows {
                table: row.get(0)?,
                parent: row.get(1)?,
                rows: row.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    drop(statement);
    transaction.finish()?;
    Ok((rows, orphans))
}

/// The size of the file's WAL, by `stat` (which opens nothing); 0 when there is none.
fn wal_bytes(path: &Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(PathBuf::from(wal)).map_or(0, |metadata| metadata.len())
}
