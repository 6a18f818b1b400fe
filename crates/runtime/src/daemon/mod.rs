//! The daemon: one long-lived process per database that owns every run started through
//! it. It is the runtime's owner machinery (lease, mailbox, recovery, reaper, database
//! file watch) running in one process, plus a Unix socket clients send requests to.
//!
//! Exactly one daemon per database (an `flock` beside it, see [`lock`]); it exits after
//! [`DaemonOptions::idle`] with no live run and no client, or on SIGTERM / SIGINT / a
//! shutdown request, interrupting its live runs gracefully (they stay resumable).

mod descriptors;
mod feed;
mod follow;
pub mod lock;
pub mod log;
pub mod paths;
mod requests;
mod serve;

use std::time::Duration;

pub use paths::DaemonPaths;
pub use serve::{serve, DaemonExit};

use crate::error::RuntimeError;

/// How long a daemon waits with no live run and no client before it exits.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(600);

/// How a daemon runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonOptions {
    /// Its lock, socket and log.
    pub paths: DaemonPaths,
    /// Idle time before it exits.
    pub idle: Duration,
}

/// Reads an idle time (`LULU_DAEMON_IDLE`): whole seconds, or a number with `ms`, `s`,
/// `m` or `h`; [`DEFAULT_IDLE`] when unset.
///
/// # Errors
/// [`RuntimeError::InvalidSetting`] when it is not such a duration.
pub fn idle_from(value: Option<&str>) -> Result<Duration, RuntimeError> {
    value.map_or(Ok(DEFAULT_IDLE), |text| {
        crate::config::duration_setting("LULU_DAEMON_IDLE", text)
    })
}

/// Detaches the calling process from its terminal: a new session, no controlling tty
/// (for a daemon started on demand, which must outlive the terminal of its starter).
///
/// # Errors
/// [`RuntimeError::Daemon`] if `setsid` fails (the process already leads a group).
pub fn leave_terminal() -> Result<(), RuntimeError> {
    nix::unistd::setsid()
        .map(|_| ())
        .map_err(|error| RuntimeError::Daemon(format!("setsid failed: {error}")))
}

/// Asks the daemon process `pid` to stop with SIGTERM (it interrupts its runs, which stay
/// resumable, then exits): for a daemon that speaks another protocol version.
///
/// # Errors
/// [`RuntimeError::Daemon`] when the signal cannot be sent.
pub fn terminate(pid: u32) -> Result<(), RuntimeError> {
    let pid = i32::try_from(pid)
        .map_err(|_| RuntimeError::Daemon(format!("{pid} is not a process id")))?;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .map_err(|error| RuntimeError::Daemon(format!("cannot signal the daemon (pid {pid}): {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_times_read_with_or_without_a_unit() {
        assert_eq!(idle_from(None).unwrap(), DEFAULT_IDLE);
        assert_eq!(idle_from(Some("2")).unwrap(), Duration::from_secs(2));
        assert_eq!(
            idle_from(Some("500ms")).unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(idle_from(Some("10m")).unwrap(), Duration::from_secs(600));
        assert_eq!(idle_from(Some("1h")).unwrap(), Duration::from_secs(3600));
        let error = idle_from(Some("soon")).unwrap_err();
        assert_eq!(error.code(), "invalid_setting");
        assert!(idle_from(Some("5 days")).is_err());
    }
}
