//! How a run ended, in the categories the supervisor acts on.
//!
//! `is_error` is the error flag, never `subtype`. A stop requested during the run makes
//! it `Interrupted` whatever the result line says (the CLI reports an interrupted turn as
//! an `error_during_execution` result).

use lulu_domain::{AgentEvent, FailureKind, RunExit, RunOutcome};

/// The stderr text of a `--resume` whose conversation the CLI cannot find.
const NOT_FOUND: &str = "No conversation found with session ID";
/// Part of the stderr text of a `--session-id` that already has a transcript.
const IN_USE: &str = "is already in use";
/// The longest failure message, in characters: it becomes the session's `last_error`,
/// one line for a list; the agent's whole stderr goes to the transcript instead.
pub const MAX_MESSAGE_CHARS: usize = 240;
/// The `terminal_reason`s of a turn the user cut short (the CLI's interrupted endings).
const ABORTED: [&str; 2] = ["aborted_streaming", "aborted_tools"];

/// The parts of a `result` line that classification reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultSummary {
    /// `is_error`.
    pub is_error: bool,
    /// `subtype`.
    pub subtype: String,
    /// `result`.
    pub text: Option<String>,
    /// `errors[]`.
    pub errors: Vec<String>,
    /// `terminal_reason`.
    pub terminal_reason: Option<String>,
}

impl ResultSummary {
    /// The summary of a result event; `None` for any other event.
    pub fn of(event: &AgentEvent) -> Option<Self> {
        let AgentEvent::Result {
            subtype,
            is_error,
            text,
            errors,
            terminal_reason,
            ..
        } = event
        else {
            return None;
        };
        Some(Self {
            is_error: *is_error,
            subtype: subtype.clone(),
            text: text.clone(),
            errors: errors.clone(),
            terminal_reason: terminal_reason.clone(),
        })
    }

    fn message(&self) -> String {
        if !self.errors.is_empty() {
            return self.errors.join("; ");
        }
        match &self.text {
            Some(text) if !text.is_empty() => text.clone(),
            _ => format!("the agent reported an error ({})", self.subtype),
        }
    }
}

/// How the process ended, as the OS reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal.
    Signal(i32),
}

impl Termination {
    /// The exit code, or `128 + n` for death by signal `n`.
    pub fn exit_code(self) -> i32 {
        match self {
            Self::Code(code) => code,
            Self::Signal(signal) => 128 + signal,
        }
    }

    /// The signal that ended it, counting exit codes above 128 as signals (as shells do).
    fn signal(self) -> Option<i32> {
        match self {
            Self::Signal(signal) => Some(signal),
            Self::Code(code) if code > 128 && code < 128 + 65 => Some(code - 128),
            Self::Code(_) => None,
        }
    }
}

/// Everything known about a run when its process has been reaped.
#[derive(Debug, Clone, Copy)]
pub struct Ending<'a> {
    /// A stop was requested while it ran.
    pub stop_requested: bool,
    /// The last `result` line, if any.
    pub last_result: Option<&'a ResultSummary>,
    /// How the process ended.
    pub termination: Termination,
    /// Whether it printed anything on stdout.
    pub saw_stdout: bool,
    /// The end of its stderr (already redacted).
    pub stderr_tail: &'a str,
}

/// The outcome and exit code of a run.
pub fn classify(ending: &Ending<'_>) -> RunExit {
    RunExit {
        outcome: outcome(ending),
        exit_code: Some(ending.termination.exit_code()),
    }
}

fn outcome(ending: &Ending<'_>) -> RunOutcome {
    if ending.stop_requested {
        return RunOutcome::Interrupted;
    }
    // A turn the CLI itself reports as cut short (a SIGINT from elsewhere) is an
    // interrupted run, resumable as one, not an API error.
    let aborted = ending.last_result.is_some_and(|result| {
        result
            .terminal_reason
            .as_deref()
            .is_some_and(|reason| ABORTED.contains(&reason))
    });
    if aborted && ending.termination.signal().is_none() {
        return RunOutcome::Interrupted;
    }
    let stderr = ending.stderr_tail.trim();
    let result_errors = ending.last_result.map(|result| result.errors.join("; "));
    if let Some(message) = result_errors
        .iter()
        .map(String::as_str)
        .chain([stderr])
        .find(|text| text.contains(NOT_FOUND))
    {
        return failed(
            FailureKind::ConversationNotFound,
            &line_with(message, NOT_FOUND),
        );
    }
    if stderr.contains(IN_USE) {
        return failed(FailureKind::SessionIdInUse, &line_with(stderr, IN_USE));
    }
    if let Some(signal) = ending.termination.signal() {
        let how = match ending.termination {
            Termination::Signal(_) => format!("the agent was killed by signal {signal}"),
            Termination::Code(code) => {
                format!("the agent exited with code {code} (signal {signal})")
            }
        };
        return failed(FailureKind::Crashed, &with_stderr(how, stderr));
    }
    let code = ending.termination.exit_code();
    match ending.last_result {
        Some(result) if result.is_error => failed(FailureKind::ApiError, &result.message()),
        Some(_) if code == 0 => RunOutcome::Completed,
        Some(_) => failed(
            FailureKind::Crashed,
            &with_stderr(
                format!("the agent exited with code {code} after a successful result"),
                stderr,
            ),
        ),
        None if code == 1 && !ending.saw_stdout && !stderr.is_empty() => {
            failed(FailureKind::InvalidArguments, headline(stderr))
        }
        None => failed(
            FailureKind::Crashed,
            &with_stderr(
                format!("the agent exited with code {code} without a result"),
                stderr,
            ),
        ),
    }
}

fn failed(kind: FailureKind, message: &str) -> RunOutcome {
    RunOutcome::Failed {
        kind,
        message: bounded(message),
    }
}

/// The first line of `text` that holds `needle`.
fn line_with(text: &str, needle: &str) -> String {
    text.lines()
        .find(|line| line.contains(needle))
        .unwrap_or(text)
        .trim()
        .to_owned()
}

fn with_stderr(message: String, stderr: &str) -> String {
    if stderr.is_empty() {
        return message;
    }
    format!("{message}; stderr: {}", headline(stderr))
}

/// The first meaningful line of `text` (one with a letter or digit), trimmed; all of
/// `text` trimmed if none is.
pub fn headline(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|line| line.chars().any(char::is_alphanumeric))
        .unwrap_or_else(|| text.trim())
}

/// `text` on one line, cut to [`MAX_MESSAGE_CHARS`] characters (an ellipsis marks a cut).
fn bounded(text: &str) -> String {
    let line = headline(text);
    let cut = line.chars().count() > MAX_MESSAGE_CHARS || line.len() < text.trim().len();
    if !cut {
        return line.to_owned();
    }
    let kept: String = line.chars().take(MAX_MESSAGE_CHARS - 1).collect();
    format!("{}…", kept.trim_end())
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
