//! The schema, as forward-only migrations kept as SQL files in this crate.
//!
//! Migration `n` takes a database from `user_version` `n - 1` to `n`, in one IMMEDIATE
//! transaction that re-reads the version first, so two processes opening an old file at
//! once apply each migration exactly once. There are no down migrations: a file newer than
//! [`SCHEMA_VERSION`] is refused, never rewritten.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior};

use crate::error::OpenError;

/// Marks a file as a Lulu database (`PRAGMA application_id`, "LULU" in ASCII).
pub const APPLICATION_ID: i32 = 0x4C55_4C55;

/// One step of the schema's history.
struct Migration {
    /// The `user_version` after it.
    version: u32,
    /// What it does.
    sql: &'static str,
    /// It rebuilds a table others reference: run with foreign keys off (SQLite's
    /// procedure), checked with `PRAGMA foreign_key_check` before it commits.
    rebuilds_tables: bool,
}

/// Every migration, oldest first; versions are consecutive from 1.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../migrations/0001_sessions_runs_events.sql"),
        rebuilds_tables: false,
    },
    Migration {
        version: 2,
        sql: include_str!("../migrations/0002_owners_mailbox_changes.sql"),
        rebuilds_tables: false,
    },
    Migration {
        version: 3,
        sql: include_str!("../migrations/0003_answer_codes_run_slots.sql"),
        rebuilds_tables: false,
    },
    Migration {
        version: 4,
        sql: include_str!("../migrations/0004_lost_events.sql"),
        rebuilds_tables: false,
    },
    Migration {
        version: 5,
        sql: include_str!("../migrations/0005_permission_denials.sql"),
        rebuilds_tables: false,
    },
    Migration {
        version: 6,
        sql: include_str!("../migrations/0006_approvals.sql"),
        rebuilds_tables: true,
    },
    Migration {
        version: 7,
        sql: include_str!("../migrations/0007_mailbox_actions.sql"),
        rebuilds_tables: false,
    },
    Migration {
        version: 8,
        sql: include_str!("../migrations/0008_run_options_and_agent.sql"),
        rebuilds_tables: false,
    },
    Migration {
        version: 9,
        sql: include_str!("../migrations/0009_usage_and_listing_indexes.sql"),
        rebuilds_tables: false,
    },
];

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: u32 = 9;

/// Reads the file's schema version.
pub(crate) fn schema_version(connection: &Connection) -> rusqlite::Result<u32> {
    connection.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// The error for a file newer than this build.
pub(crate) fn newer_schema(path: &Path, found: u32) -> OpenError {
    OpenError::NewerSchema {
        path: path.to_owned(),
        found,
        supported: SCHEMA_VERSION,
    }
}

/// Brings the file up to [`SCHEMA_VERSION`], one transaction per migration.
pub(crate) fn migrate(connection: &mut Connection, path: &Path) -> Result<(), OpenError> {
    let sqlite = |source| OpenError::Sqlite {
        path: path.to_owned(),
        source,
    };
    if schema_version(connection).map_err(sqlite)? == SCHEMA_VERSION {
        return Ok(());
    }
    for migration in MIGRATIONS {
        if migration.rebuilds_tables {
            // Outside any transaction (where it has no effect); back on whatever happens.
            connection
                .pragma_update(None, "foreign_keys", false)
                .map_err(sqlite)?;
            let applied = apply(connection, path, migration);
            connection
                .pragma_update(None, "foreign_keys", true)
                .map_err(sqlite)?;
            applied?;
        } else {
            apply(connection, path, migration)?;
        }
    }
    Ok(())
}

/// Applies one migration unless the file already has it.
fn apply(connection: &mut Connection, path: &Path, migration: &Migration) -> Result<(), OpenError> {
    let sqlite = |source| OpenError::Sqlite {
        path: path.to_owned(),
        source,
    };
    let failed = |source| OpenError::Migration {
        path: path.to_owned(),
        version: migration.version,
        source,
    };
    {
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite)?;
        // Re-read under the write lock: another process may have migrated meanwhile.
        let current = schema_version(&transaction).map_err(sqlite)?;
        if current > SCHEMA_VERSION {
            return Err(newer_schema(path, current));
        }
        if current >= migration.version {
            return Ok(());
        }
        transaction.execute_batch(migration.sql).map_err(failed)?;
        if migration.rebuilds_tables {
            let dangling: Option<String> = transaction
                .query_row("PRAGMA foreign_key_check", [], |row| row.get(0))
                .optional()
                .map_err(failed)?;
            if let Some(table) = dangling {
                return Err(failed(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
                    Some(format!("rows of {table} point at missing rows")),
                )));
            }
        }
        transaction
            .pragma_update(None, "user_version", migration.version)
            .map_err(failed)?;
        transaction.commit().map_err(failed)?;
    }
    tracing::info!(path = %path.display(), version = migration.version, "migrated the database");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_versions_are_consecutive_and_end_at_the_schema_version() {
        let versions: Vec<u32> = MIGRATIONS
            .iter()
            .map(|migration| migration.version)
            .collect();
        let expected: Vec<u32> = (1..=SCHEMA_VERSION).collect();
        assert_eq!(versions, expected);
    }
}
