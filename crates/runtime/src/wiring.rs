//! TEMPORARY stub until the adapters land.
use crate::{Runtime, RuntimeConfig, RuntimeError};

/// Opens the runtime.
pub async fn open(config: RuntimeConfig) -> Result<Runtime, RuntimeError> {
    Err(RuntimeError::Database {
        path: config.db_path,
        message: "adapters not merged yet".into(),
    })
}
