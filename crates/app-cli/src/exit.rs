//! How `lulu` ends: exit codes scripts can rely on.

use std::process::ExitCode;

use lulu_domain::SessionStatus;

/// 0: done (completed, or interrupted on request by `interrupt`).
pub const OK: u8 = 0;
/// 1: the session failed, or the command could not do what was asked.
pub const FAILED: u8 = 1;
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
        | SessionStatus::Interrupting => FAILED,
    })
}
