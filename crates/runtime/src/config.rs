//! Where things are and how many may run: resolved once from flags, environment and defaults.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lulu_domain::InterruptPolicy;

use crate::error::RuntimeError;

/// The default limit on live runs across every Lulu process sharing a database.
pub const DEFAULT_MAX_RUNNING: usize = 8;

/// Everything the runtime needs to know before it opens anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// The session database.
    pub db_path: PathBuf,
    /// The Claude Code CLI binary (a name looked up on `PATH`, or a path).
    pub claude_bin: PathBuf,
    /// Live runs allowed at once across all processes.
    pub max_running: usize,
    /// Interrupt grace period and deadline.
    pub interrupt: InterruptPolicy,
    /// How long an owner's lease lasts without renewal.
    pub lease_ttl: Duration,
    /// How often owners look for control requests and waiters poll for answers.
    pub poll_interval: Duration,
}

impl RuntimeConfig {
    /// A configuration with defaults for everything but the two paths.
    pub fn new(db_path: PathBuf, claude_bin: PathBuf) -> Self {
        Self {
            db_path,
            claude_bin,
            max_running: DEFAULT_MAX_RUNNING,
            interrupt: InterruptPolicy::default(),
            lease_ttl: Duration::from_secs(10),
            poll_interval: Duration::from_millis(50),
        }
    }

    /// Reads `LULU_MAX_RUNNING` from `value` (the environment variable's content, if set).
    ///
    /// # Errors
    /// [`RuntimeError::InvalidSetting`] when it is not a whole number of at least 1.
    pub fn with_max_running_from(mut self, value: Option<&str>) -> Result<Self, RuntimeError> {
        let Some(text) = value else {
            return Ok(self);
        };
        self.max_running = text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|limit| *limit >= 1)
            .ok_or_else(|| RuntimeError::InvalidSetting {
                name: "LULU_MAX_RUNNING",
                value: text.to_owned(),
                expected: "a whole number of at least 1",
            })?;
        Ok(self)
    }
}

/// The default database: `lulu.db` in the platform data directory
/// (`$XDG_DATA_HOME/lulu` or `~/.local/share/lulu` on Linux).
///
/// # Errors
/// [`RuntimeError::NoDataDir`] when the platform has no home directory to derive it from.
pub fn default_db_path() -> Result<PathBuf, RuntimeError> {
    directories::ProjectDirs::from("", "", "lulu")
        .map(|dirs| dirs.data_dir().join("lulu.db"))
        .ok_or(RuntimeError::NoDataDir)
}

/// `path` made absolute against `cwd` (without touching the file system).
pub fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    }
}

/// The agent binary as the user named it, made independent of any session's directory:
/// a relative path (`./claude`, `bin/claude`) is resolved against `cwd`, the directory
/// Lulu was started in; a bare name (`claude`) stays a name, looked up on `PATH`.
pub fn claude_bin(given: &Path, cwd: &Path) -> PathBuf {
    if given.as_os_str().as_encoded_bytes().contains(&b'/') {
        absolute(given, cwd)
    } else {
        given.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RuntimeConfig {
        RuntimeConfig::new("/tmp/lulu.db".into(), "claude".into())
    }

    #[test]
    fn max_running_defaults_to_eight_and_reads_the_environment() {
        assert_eq!(config().max_running, 8);
        assert_eq!(
            config()
                .with_max_running_from(Some(" 3 "))
                .unwrap()
                .max_running,
            3
        );
    }

    #[test]
    fn a_bad_max_running_is_refused_with_what_was_expected() {
        for bad in ["0", "-1", "many"] {
            let error = config().with_max_running_from(Some(bad)).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("LULU_MAX_RUNNING is `{bad}`, but it must be a whole number of at least 1")
            );
        }
    }

    #[test]
    fn a_relative_claude_bin_is_anchored_where_lulu_started_and_a_name_stays_a_name() {
        let started_in = Path::new("/home/me/src");
        assert_eq!(
            claude_bin(Path::new("./bin/claude"), started_in),
            PathBuf::from("/home/me/src/./bin/claude")
        );
        assert_eq!(
            claude_bin(Path::new("/opt/claude"), started_in),
            PathBuf::from("/opt/claude")
        );
        assert_eq!(
            claude_bin(Path::new("claude"), started_in),
            PathBuf::from("claude")
        );
    }

    #[test]
    fn the_default_database_lives_in_the_data_dir() {
        let path = default_db_path().unwrap();
        assert!(path.ends_with("lulu/lulu.db"), "{}", path.display());
    }
}
