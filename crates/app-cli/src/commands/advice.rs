//! What to tell the user after a foreground run, beyond its last line: the tool calls the
//! agent was refused and how to allow them, and why a run never launched.

use std::io::IsTerminal as _;

use lulu_domain::{AgentEvent, RunId, Session, SessionStatus};
use lulu_runtime::Runtime;

use super::Context;
use crate::render::notes::{resume_hint, session_label};
use crate::render::safe::safe_line;
use crate::render::style::{paint, WARN};
use crate::render::transcript::allow_hint;

/// Says which tool calls of `run` needed approval and how to allow them, when its last
/// stored line (seq `last`) is a result that lists refused calls.
pub async fn explain_denials(runtime: &Runtime, run: RunId, last: Option<u64>) {
    let Some(last) = last else {
        return;
    };
    let Ok(tail) = runtime.transcript(run, last.checked_sub(1), 1).await else {
        return;
    };
    let Some(AgentEvent::Result {
        permission_denials, ..
    }) = tail.first().map(|entry| &entry.event)
    else {
        return;
    };
    let tools: Vec<String> = permission_denials
        .iter()
        .map(|denial| denial.tool_name.clone())
        .collect();
    if let Some(hint) = allow_hint(&tools) {
        anstream::eprintln!("{}", paint(WARN, &hint));
    }
}

/// What to do about a run that never launched, for its cause: the daemon runs another
/// agent binary than this command names (it keeps the one it was started with), the
/// binary is missing or unusable, or the session's directory is gone.
pub async fn launch_hint(context: &Context, session: &Session) -> String {
    let wanted = &context.config.claude_bin;
    let daemon_bin = match context.connect().await {
        Ok(Some(mut client)) => client.status().await.ok().map(|status| status.claude_bin),
        _ => None,
    };
    if let Some(daemon_bin) = daemon_bin.filter(|daemon_bin| daemon_bin != wanted) {
        return format!(
            "the daemon runs the agent binary it was started with, {}; `lulu daemon restart` makes it use {}",
            safe_line(&daemon_bin.display().to_string()),
            safe_line(&wanted.display().to_string()),
        );
    }
    let error = session.last_error.as_deref().unwrap_or_default();
    if error.contains("working directory") {
        let cwd = safe_line(session.cwd.as_str());
        return format!(
            "the session's directory {cwd} cannot be used: restore it, or start over with `lulu run --cwd DIR PROMPT`"
        );
    }
    "install Claude Code (`npm install -g @anthropic-ai/claude-code`) or point --claude-bin / LULU_CLAUDE_BIN at it, then `lulu daemon restart`".to_owned()
}

/// Says which session a `run` or `resume` started: its id alone on stdout when stdout is
/// not a terminal (for `$(lulu run -d …)`; never with `--json`, whose stdout is JSON
/// lines), and a labelled line with what to do next on stderr for a person.
pub fn announce(session: &Session, detached: bool, json: bool) {
    let stdout_is_terminal = std::io::stdout().is_terminal();
    if !stdout_is_terminal && !json {
        println!("{}", session.id);
    }
    if stdout_is_terminal || std::io::stderr().is_terminal() {
        anstream::eprintln!("{}", session_label(session, detached));
    }
}

/// What to type next after a foreground run settled: how to resume an interrupted one.
pub fn next_steps(session: &Session) {
    if session.status == SessionStatus::Interrupted && std::io::stderr().is_terminal() {
        anstream::eprintln!("{}", resume_hint(session));
    }
}
