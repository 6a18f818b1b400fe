//! Where things are and how many may run: resolved once from a front end's flags, the
//! `LULU_*` environment and defaults, in [`RuntimeConfig::from_env_overlaid`]. Every
//! front end reads its settings here, so `LULU_DB` means the same file to all of them.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use lulu_domain::InterruptPolicy;

use crate::error::RuntimeError;

/// The default limit on live runs across every Lulu process sharing a database.
pub const DEFAULT_MAX_RUNNING: usize = 8;

/// The variable naming the session database.
pub const ENV_DB: &str = "LULU_DB";
/// The variable naming the Claude Code CLI binary.
pub const ENV_CLAUDE_BIN: &str = "LULU_CLAUDE_BIN";
/// The variable limiting live runs across every process sharing a database.
pub const ENV_MAX_RUNNING: &str = "LULU_MAX_RUNNING";
/// The variable setting how long a permission request may wait for an answer.
pub const ENV_APPROVAL_TIMEOUT: &str = "LULU_APPROVAL_TIMEOUT";
/// The variable setting how long a kept-open run may idle between turns.
pub const ENV_IDLE_TIMEOUT: &str = "LULU_IDLE_TIMEOUT";
/// How long a kept-open run may idle between turns when nothing says otherwise.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// The agent binary when nothing names another: `claude`, looked up on `PATH`.
pub const DEFAULT_CLAUDE_BIN: &str = "claude";

/// Settings a front end was given explicitly (its flags); each wins over the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// The session database, as given (relative paths are taken from the current directory).
    pub db_path: Option<PathBuf>,
    /// The agent binary, as given (a name, or a path taken from the current directory).
    pub claude_bin: Option<PathBuf>,
}

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
    /// How long a permission request may wait before Lulu denies it; `None`: as long as
    /// it takes.
    pub approval_timeout: Option<Duration>,
    /// How long a kept-open run may idle between turns before it is closed.
    pub idle_timeout: Duration,
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
            approval_timeout: None,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }

    /// The configuration the process environment and the defaults give.
    ///
    /// # Errors
    /// See [`RuntimeConfig::from_env_overlaid`].
    pub fn from_env() -> Result<Self, RuntimeError> {
        Self::from_env_overlaid(&Overrides::default())
    }

    /// The configuration `flags` give, with the process environment (`LULU_DB`,
    /// `LULU_CLAUDE_BIN`, `LULU_MAX_RUNNING`) for what they leave out, then the defaults.
    /// Relative paths are taken from the current directory.
    ///
    /// # Errors
    /// [`RuntimeError::NoCurrentDir`] when the current directory cannot be read, and those
    /// of [`RuntimeConfig::resolve`].
    pub fn from_env_overlaid(flags: &Overrides) -> Result<Self, RuntimeError> {
        let cwd =
            std::env::current_dir().map_err(|source| RuntimeError::NoCurrentDir { source })?;
        Self::resolve(flags, |name| std::env::var_os(name), &cwd)
    }

    /// The configuration `flags`, then the environment `var` reads, then the defaults
    /// give, with relative paths taken from `cwd`. A variable set to the empty string
    /// counts as unset.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidSetting`] when `LULU_MAX_RUNNING` is not a whole number of at
    /// least 1; [`RuntimeError::NoDataDir`] when no database is named and the platform has
    /// no home directory for the default one.
    pub fn resolve(
        flags: &Overrides,
        var: impl Fn(&str) -> Option<OsString>,
        cwd: &Path,
    ) -> Result<Self, RuntimeError> {
        let set = |name: &str| var(name).filter(|value| !value.is_empty());
        let db_path = match flags
            .db_path
            .clone()
            .or_else(|| set(ENV_DB).map(PathBuf::from))
        {
            Some(path) => absolute(&path, cwd),
            None => default_db_path()?,
        };
        let named_bin = flags
            .claude_bin
            .clone()
            .or_else(|| set(ENV_CLAUDE_BIN).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CLAUDE_BIN));
        let mut config = Self::new(db_path, claude_bin(&named_bin, cwd));
        if let Some(limit) = set(ENV_MAX_RUNNING) {
            config.max_running = max_running(&limit)?;
        }
        if let Some(timeout) = set(ENV_APPROVAL_TIMEOUT) {
            let text = timeout.to_string_lossy();
            let after = duration_setting(ENV_APPROVAL_TIMEOUT, &text)?;
            if after.is_zero() {
                return Err(invalid_duration(ENV_APPROVAL_TIMEOUT, &text));
            }
            config.approval_timeout = Some(after);
        }
        if let Some(timeout) = set(ENV_IDLE_TIMEOUT) {
            let text = timeout.to_string_lossy();
            config.idle_timeout = duration_setting(ENV_IDLE_TIMEOUT, &text)?;
        }
        Ok(config)
    }
}

/// A duration setting: whole seconds, or a number with `ms`, `s`, `m` or `h` (`30m`).
///
/// # Errors
/// [`RuntimeError::InvalidSetting`] naming `name` when `text` is not such a duration.
pub fn duration_setting(name: &'static str, text: &str) -> Result<Duration, RuntimeError> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let number: u64 = number.parse().map_err(|_| invalid_duration(name, text))?;
    match unit {
        "ms" => Ok(Duration::from_millis(number)),
        "" | "s" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(number * 60)),
        "h" => Ok(Duration::from_secs(number * 3600)),
        _ => Err(invalid_duration(name, text)),
    }
}

fn invalid_duration(name: &'static str, text: &str) -> RuntimeError {
    RuntimeError::InvalidSetting {
        name,
        value: text.to_owned(),
        expected: "a duration such as 600, 90s, 500ms, 10m or 1h",
    }
}

/// `LULU_MAX_RUNNING`'s value as a limit.
fn max_running(value: &OsStr) -> Result<usize, RuntimeError> {
    value
        .to_str()
        .and_then(|text| text.trim().parse::<usize>().ok())
        .filter(|limit| *limit >= 1)
        .ok_or_else(|| RuntimeError::InvalidSetting {
            name: ENV_MAX_RUNNING,
            value: value.to_string_lossy().into_owned(),
            expected: "a whole number of at least 1",
        })
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

    /// The configuration `flags` and the environment `vars` give, started in `/home/me`.
    fn resolve(flags: &Overrides, vars: &[(&str, &str)]) -> Result<RuntimeConfig, RuntimeError> {
        let lookup = |name: &str| {
            vars.iter()
                .find(|(set, _)| *set == name)
                .map(|(_, value)| OsString::from(value))
        };
        RuntimeConfig::resolve(flags, lookup, Path::new("/home/me"))
    }

    #[test]
    fn with_nothing_set_the_defaults_apply() {
        let config = resolve(&Overrides::default(), &[]).unwrap();

        assert_eq!(config.max_running, DEFAULT_MAX_RUNNING);
        assert_eq!(config.claude_bin, PathBuf::from("claude"));
        assert!(config.db_path.ends_with("lulu/lulu.db"), "{config:?}");
    }

    #[test]
    fn the_environment_names_the_database_the_agent_and_the_limit() {
        let config = resolve(
            &Overrides::default(),
            &[
                ("LULU_DB", "data/lulu.db"),
                ("LULU_CLAUDE_BIN", "./bin/claude"),
                ("LULU_MAX_RUNNING", " 3 "),
            ],
        )
        .unwrap();

        assert_eq!(config.db_path, PathBuf::from("/home/me/data/lulu.db"));
        assert_eq!(config.claude_bin, PathBuf::from("/home/me/./bin/claude"));
        assert_eq!(config.max_running, 3);
    }

    #[test]
    fn flags_win_over_the_environment_and_empty_variables_count_as_unset() {
        let flags = Overrides {
            db_path: Some("/srv/other.db".into()),
            claude_bin: Some("claude-beta".into()),
        };
        let config = resolve(
            &flags,
            &[
                ("LULU_DB", "/srv/lulu.db"),
                ("LULU_CLAUDE_BIN", "/opt/claude"),
                ("LULU_MAX_RUNNING", ""),
            ],
        )
        .unwrap();

        assert_eq!(config.db_path, PathBuf::from("/srv/other.db"));
        assert_eq!(config.claude_bin, PathBuf::from("claude-beta"));
        assert_eq!(config.max_running, DEFAULT_MAX_RUNNING);
        let empty = resolve(&Overrides::default(), &[("LULU_CLAUDE_BIN", "")]).unwrap();
        assert_eq!(empty.claude_bin, PathBuf::from("claude"));
    }

    #[test]
    fn a_bad_max_running_is_refused_with_what_was_expected() {
        for bad in ["0", "-1", "many"] {
            let error = resolve(&Overrides::default(), &[("LULU_MAX_RUNNING", bad)]).unwrap_err();
            assert_eq!(error.code(), "invalid_setting");
            assert_eq!(
                error.to_string(),
                format!("LULU_MAX_RUNNING is `{bad}`, but it must be a whole number of at least 1")
            );
        }
    }

    #[test]
    fn the_approval_timeout_is_none_unless_set_and_refuses_what_is_not_a_duration() {
        assert_eq!(
            resolve(&Overrides::default(), &[])
                .unwrap()
                .approval_timeout,
            None
        );
        let set = resolve(&Overrides::default(), &[("LULU_APPROVAL_TIMEOUT", "30m")]).unwrap();
        assert_eq!(set.approval_timeout, Some(Duration::from_secs(1800)));
        for bad in ["0", "soon", "5d"] {
            let error =
                resolve(&Overrides::default(), &[("LULU_APPROVAL_TIMEOUT", bad)]).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("LULU_APPROVAL_TIMEOUT is `{bad}`, but it must be a duration such as 600, 90s, 500ms, 10m or 1h")
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
