//! `doctor`: the full check of the database, for when something looks wrong. Opening the
//! database checks only what is cheap; this reads every page, counts the rows, finds rows
//! whose parent is gone and sizes the WAL. It opens the file read-only and recovers
//! nothing, so it works on a file every other use case would refuse, and changes nothing.

pub use lulu_adapters_sqlite::{DatabaseReport, OrphanedRows, RowCounts, MAX_PROBLEMS};

use crate::config::RuntimeConfig;
use crate::error::RuntimeError;

/// Runs the full check of the database `config` names.
///
/// # Errors
/// [`RuntimeError::Database`] when there is no file, it is not a Lulu database this build
/// understands, or it cannot be opened. Damage is not an error: the report says it.
pub async fn doctor(config: &RuntimeConfig) -> Result<DatabaseReport, RuntimeError> {
    lulu_adapters_sqlite::examine(&config.db_path)
        .await
        .map_err(|error| RuntimeError::Database {
            path: config.db_path.clone(),
            source: error,
        })
}
