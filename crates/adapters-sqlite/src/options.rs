//! How to open a store: the file, the owner identity, and the knobs tests and quotas need.

use std::path::{Path, PathBuf};
use std::time::Duration;

use directories::ProjectDirs;
use lulu_domain::OwnerId;

use crate::error::OpenError;

/// The file name of the database inside the data directory.
pub const DEFAULT_FILE_NAME: &str = "lulu.db";

/// The default database path: `lulu.db` in the platform data directory
/// (e.g. `~/.local/share/lulu/lulu.db` on Linux).
pub fn default_db_path() -> Result<PathBuf, OpenError> {
    let dirs = ProjectDirs::from("", "", "lulu").ok_or(OpenError::NoDataDir)?;
    Ok(dirs.data_dir().join(DEFAULT_FILE_NAME))
}

/// Everything [`crate::SqliteStore::open`] needs.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The database file; created (with its directory) if missing.
    pub path: PathBuf,
    /// The process that supervises the live sessions this store saves, if any.
    pub owner: Option<OwnerId>,
    /// How long a write waits for another process's write before failing with `Busy`.
    pub busy_timeout: Duration,
    /// Caps the file at this many pages (a quota; tests use it to fill the "disk").
    pub max_page_count: Option<u32>,
}

impl StoreOptions {
    /// The busy timeout used unless another is set: 5 seconds.
    pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

    /// Defaults for the file at `path`: no owner, 5 s busy timeout, no size cap.
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self {
            path: path.as_ref().to_owned(),
            owner: None,
            busy_timeout: Self::DEFAULT_BUSY_TIMEOUT,
            max_page_count: None,
        }
    }

    /// Sets the owner stamped on the live sessions this store saves.
    #[must_use]
    pub fn owner(mut self, owner: OwnerId) -> Self {
        self.owner = Some(owner);
        self
    }

    /// Sets the busy timeout.
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Caps the file at `pages` pages.
    #[must_use]
    pub fn max_page_count(mut self, pages: u32) -> Self {
        self.max_page_count = Some(pages);
        self
    }
}
