//! How `lulu` ends: exit codes scripts can rely on.

use std::process::ExitCode;

use lulu_domain::ports::LaunchError;
use lulu_domain::{InputError, SessionStatus};
use lulu_runtime::RuntimeError;

/// 0: done (completed, or interrupted on request by `interrupt`).
pub const OK: u8 = 0;
/// 1: the session failed, or the command could not do what was asked.
pub const FAILED: u8 = 1;
/// 2: a usage error: the command line asks for something that cannot be done as given
/// (bad input, a directory or agent binary that cannot be used); nothing was stored.
pub const USAGE: u8 = 2;
/// 130: the foreground session was interrupted (as shells report Ctrl-C).
pub const INTERRUPTED: u8 = 130;

/// The exit code of a foreground `run` / `resume` whose session settled in `status`.
pub fn for_settled(status: SessionStatus) -> ExitCode {
    ExitCode::from(match status {
        SessionStatus::Completed => OK,
        SessionStatus::Interrupted => INTERRUPTED,
        SessionStatus::Failed
        | SessionStatus::Queued
        | SessionStatus::Starting
        | SessionStatus::Running
        | SessionStatus::NeedsApproval
        | SessionStatus::Idle
        | SessionStatus::Interrupting => FAILED,
    })
}

/// The exit code for a command that failed with `error`: [`USAGE`] for the user's
/// mistakes in what they typed, [`FAILED`] for everything else.
pub fn for_error(error: &anyhow::Error) -> u8 {
    let usage = error.chain().any(|cause| {
        cause.is::<InputError>()
            || cause.is::<LaunchError>()
            || matches!(
                cause.downcast_ref::<RuntimeError>(),
                Some(RuntimeError::Input(_) | RuntimeError::IdTooShort(_))
            )
    });
    if usage {
        USAGE
    } else {
        FAILED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_and_launch_checks_are_usage_errors_and_the_rest_failures() {
        let usage = [
            anyhow::Error::from(InputError::EmptyPrompt),
            anyhow::Error::from(RuntimeError::IdTooShort("abc".into())),
            anyhow::Error::from(RuntimeError::Input(InputError::EmptyTitle)),
            anyhow::Error::from(LaunchError::WorkingDirMissing { cwd: "/x".into() })
                .context("cannot start"),
        ];
        for error in &usage {
            assert_eq!(for_error(error), USAGE, "{error:#}");
        }
        let failed = anyhow::Error::from(RuntimeError::UnknownId("abcd".into()));
        assert_eq!(for_error(&failed), FAILED);
    }
}
