//! How the launcher runs the CLI: which binary, what extra environment, which bounds.

use std::ffi::OsString;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use lulu_domain::{ProcessRecord, RunId, SessionId};

/// Called with a run's recorded processes (the agent first, then its descendants) each
/// time the set changes, so a crash-recovery process can kill them later. It runs on the
/// run's owner task: keep it quick (hand the records to a channel or a store).
pub type ProcessObserver = Arc<dyn Fn(SessionId, RunId, Vec<ProcessRecord>) + Send + Sync>;

/// The launcher's settings. [`Default`] runs `claude` from `PATH` with the defaults below.
#[derive(Clone)]
pub struct CliLauncherConfig {
    /// The agent binary: a name looked up on `PATH`, or a path.
    pub binary: OsString,
    /// Extra environment for the child, on top of the inherited one. Values are never logged.
    pub env: Vec<(OsString, OsString)>,
    /// Longest stdout line kept, in bytes; a longer line becomes a diagnostic event.
    pub max_line_bytes: usize,
    /// How much of the end of stderr is kept for failure messages, in bytes.
    pub stderr_tail_bytes: usize,
    /// How often the process sampler (one per process, shared by every run) makes a pass
    /// while this launcher's runs live; the shortest interval of all live runs wins.
    pub tree_poll_interval: Duration,
    /// Told about every change of a run's recorded processes.
    pub observer: Option<ProcessObserver>,
}

impl CliLauncherConfig {
    /// The default stdout line cap: 8 MiB.
    ///
    /// The CLI truncates tool output long before this, so a longer line is a fault; the cap
    /// bounds memory at a few times its size whatever the agent prints.
    pub const DEFAULT_MAX_LINE_BYTES: usize = 8 * 1024 * 1024;
    /// The default stderr tail: 16 KiB.
    pub const DEFAULT_STDERR_TAIL_BYTES: usize = 16 * 1024;
    /// The default sampling interval: 200 ms.
    pub const DEFAULT_TREE_POLL_INTERVAL: Duration = Duration::from_millis(200);

    /// The defaults, running `binary`.
    pub fn with_binary(binary: impl Into<OsString>) -> Self {
        Self {
            binary: binary.into(),
            ..Self::default()
        }
    }
}

impl Default for CliLauncherConfig {
    fn default() -> Self {
        Self {
            binary: OsString::from("claude"),
            env: Vec::new(),
            max_line_bytes: Self::DEFAULT_MAX_LINE_BYTES,
            stderr_tail_bytes: Self::DEFAULT_STDERR_TAIL_BYTES,
            tree_poll_interval: Self::DEFAULT_TREE_POLL_INTERVAL,
            observer: None,
        }
    }
}

/// Shows environment names only: values may be secrets.
impl fmt::Debug for CliLauncherConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let env_names: Vec<_> = self.env.iter().map(|(name, _)| name).collect();
        f.debug_struct("CliLauncherConfig")
            .field("binary", &self.binary)
            .field("env_names", &env_names)
            .field("max_line_bytes", &self.max_line_bytes)
            .field("stderr_tail_bytes", &self.stderr_tail_bytes)
            .field("tree_poll_interval", &self.tree_poll_interval)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_names_environment_variables_but_never_their_values() {
        let config = CliLauncherConfig {
            env: vec![("ANTHROPIC_API_KEY".into(), "sk-ant-test-SECRET".into())],
            ..CliLauncherConfig::default()
        };
        let text = format!("{config:?}");
        assert!(text.contains("ANTHROPIC_API_KEY"));
        assert!(!text.contains("SECRET"));
    }
}
