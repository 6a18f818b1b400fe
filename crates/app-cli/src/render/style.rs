//! Terminal styles: colour only where a person reads it (anstream strips it elsewhere).

use anstyle::{AnsiColor, Style};

use lulu_domain::SessionStatus;

/// Dim text: metadata, hints.
pub const DIM: Style = Style::new().dimmed();
/// Bold text: headers.
pub const BOLD: Style = Style::new().bold();
/// Tool calls.
pub const TOOL: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Cyan)));
/// Errors and failures.
pub const ERROR: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
/// Success.
pub const GOOD: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)));
/// Attention: retries, interrupts.
pub const WARN: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)));

/// The style of a status word.
pub const fn status(status: SessionStatus) -> Style {
    match status {
        SessionStatus::Queued | SessionStatus::Starting => DIM,
        SessionStatus::Running | SessionStatus::Idle => TOOL,
        SessionStatus::NeedsApproval | SessionStatus::Interrupting | SessionStatus::Interrupted => {
            WARN
        }
        SessionStatus::Completed => GOOD,
        SessionStatus::Failed => ERROR,
    }
}

/// `text` in `style`.
pub fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}
