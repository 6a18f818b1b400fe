//! Lulu's own notes around a run, for people on a terminal: which session started, and
//! what to type next.

use std::fmt::Write as _;

use lulu_domain::Session;

use super::style::{paint, BOLD, DIM, TOOL};
use super::text::cut;

/// How long a quoted title may get in a note.
const TITLE_CHARS: usize = 48;

/// `● session c8e4d142 "fix the parser" · Ctrl-C to interrupt` (or, detached, how to
/// follow it).
pub fn session_label(session: &Session, detached: bool) -> String {
    let short = session.id.short();
    let next = if detached {
        format!("follow with: lulu logs -f {short}")
    } else {
        "Ctrl-C to interrupt".to_owned()
    };
    format!(
        "{} session {} \"{}\" {}",
        paint(TOOL, "●"),
        paint(BOLD, &short),
        cut(session.title.as_str(), TITLE_CHARS),
        paint(DIM, &format!("· {next}")),
    )
}

/// After an interrupt: `resume with: lulu resume c8e4d142 "…"`.
pub fn resume_hint(session: &Session) -> String {
    paint(
        DIM,
        &format!("resume with: lulu resume {} \"…\"", session.id.short()),
    )
}

/// The few commands to start with, for `lulu` without a command.
pub fn getting_started() -> String {
    let lines = [
        (
            "lulu run PROMPT",
            "start a session and watch it (-d: in the background)",
        ),
        ("lulu list", "every session, newest first"),
        ("lulu logs -f ID", "follow a session's transcript"),
        ("lulu resume ID PROMPT", "continue a session's conversation"),
        ("lulu --help", "everything else"),
    ];
    let mut out = paint(BOLD, "Start with:");
    for (command, what) in lines {
        let _ = write!(out, "\n  {command:<22} {}", paint(DIM, what));
    }
    out
}

/// Claude Code's own words for a problem the user fixes outside Lulu, said once in
/// Lulu's words with what to do; `None` for any other text.
pub fn claude_problem(text: &str) -> Option<&'static str> {
    let text = text.trim();
    if text.starts_with("Not logged in") {
        Some("Claude Code is not logged in: run `claude` and `/login`, or set ANTHROPIC_API_KEY")
    } else if text.contains("Invalid API key") {
        Some("Claude Code's API key was refused: check ANTHROPIC_API_KEY, or run `claude` and `/login`")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_codes_own_problems_are_said_in_lulus_words() {
        assert_eq!(
            claude_problem("Not logged in · Please run /login\n"),
            Some(
                "Claude Code is not logged in: run `claude` and `/login`, or set ANTHROPIC_API_KEY"
            )
        );
        assert!(claude_problem("Invalid API key · Fix external API key").is_some());
        assert_eq!(claude_problem("I am not logged in to that website"), None);
    }
}
