//! Transcript lines as people read them: assistant text in full, one line per tool call,
//! result, retry or note, cut to fit; all agent text neutralised for the terminal.

use std::fmt::Write as _;

use lulu_domain::{AgentEvent, PermissionDenial, Run, RunUsage, Session, SessionStatus};

use super::safe::{safe_line, safe_text};
use super::style::{self, paint, BOLD, DIM, ERROR, GOOD, TOOL, WARN};
use super::text::{cut, duration_ms, money, one_line, timestamp};

/// How wide a one-line summary may get.
const LINE: usize = 120;

/// The header printed before each run's lines in `logs`.
pub fn run_header(number: usize, run: &Run) -> String {
    let text = format!(
        "── run {number} · {} · {} · {} ──",
        run.kind.as_str(),
        run.id.short(),
        timestamp(run.started_at)
    );
    paint(DIM, &text)
}

/// `» the prompt`: what a run was asked, under its header in `logs`.
pub fn run_prompt(run: &Run) -> String {
    paint(WARN, &format!("» {}", one_line(run.prompt.as_str(), LINE)))
}

/// Protocol lines a person has no use for (kept in `--json` output and the database).
const QUIET_TYPES: [&str; 3] = ["control_response", "stream_event", "system/status"];
/// The CLI's internal bookkeeping: shown with `-v`.
const INTERNAL_TYPES: [&str; 3] = [
    "system/task_started",
    "system/task_notification",
    "system/hook_response",
];
/// How many lines of a tool's output are shown (all with `--full`).
const TOOL_LINES: usize = 3;

/// How much of a transcript to show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Detail {
    /// Every line of tool output, not the first few.
    pub full: bool,
    /// The CLI's internal bookkeeping lines too (`-v`).
    pub verbose: bool,
}

/// One event as people read it, in the default detail; `None` for protocol chatter.
pub fn event_line(event: &AgentEvent) -> Option<String> {
    event_line_with(event, Detail::default())
}

/// One event, rendered as one line (assistant text: as many lines as it has; tool
/// output: its first lines, all with `full`); `None` for protocol chatter and, unless
/// `verbose`, the CLI's internal bookkeeping.
pub fn event_line_with(event: &AgentEvent, detail: Detail) -> Option<String> {
    if let AgentEvent::Other { type_name, .. } = event {
        let internal = INTERNAL_TYPES.contains(&type_name.as_str()) && !detail.verbose;
        if QUIET_TYPES.contains(&type_name.as_str()) || internal {
            return None;
        }
    }
    Some(match event {
        AgentEvent::Init {
            model,
            version,
            cwd,
            ..
        } => paint(
            DIM,
            &format!(
                "· agent ready: {}, Claude Code {}, in {}",
                safe_line(model),
                safe_line(version),
                safe_line(cwd)
            ),
        ),
        AgentEvent::AssistantText { text } => safe_text(text.trim_end()).into_owned(),
        AgentEvent::Thinking { text } => {
            paint(DIM, &format!("(thinking) {}", one_line(text, LINE)))
        }
        AgentEvent::ToolUse {
            name, input_json, ..
        } => paint(
            TOOL,
            &format!("→ {}: {}", safe_line(name), tool_summary(input_json)),
        ),
        AgentEvent::ToolResult {
            content, is_error, ..
        } => tool_output(content, *is_error, detail.full),
        AgentEvent::UserText { text } => paint(WARN, &format!("» {}", one_line(text, LINE))),
        AgentEvent::ApiRetry {
            attempt,
            max_retries,
            retry_delay_ms,
            error_status,
            error,
        } => {
            let status = error_status
                .map(|code| format!("HTTP {code}: "))
                .unwrap_or_default();
            paint(
                WARN,
                &format!(
                    "↻ API retry {attempt}/{max_retries} in {} ({status}{})",
                    duration_ms(*retry_delay_ms),
                    one_line(error, 60)
                ),
            )
        }
        AgentEvent::Result {
            subtype,
            is_error,
            errors,
            usage,
            text,
            terminal_reason,
            permission_denials,
        } => result_lines(
            usage,
            is_error.then(|| {
                failure_reason(subtype, errors, text.as_deref(), terminal_reason.as_deref())
            }),
            permission_denials,
        ),
        AgentEvent::PermissionDenied {
            tool_name, message, ..
        } => paint(
            WARN,
            &format!("! {}: {}", safe_line(tool_name), one_line(message, LINE)),
        ),
        AgentEvent::PermissionRequest {
            tool_name,
            input_json,
            ..
        } => asks_line(tool_name, input_json),
        AgentEvent::UserMessage { text } => {
            paint(BOLD, &format!("» you: {}", one_line(text, LINE)))
        }
        AgentEvent::PermissionCancelled { .. } => {
            paint(DIM, "· the permission request was withdrawn")
        }
        AgentEvent::Other { type_name, .. } => paint(DIM, &format!("· {}", safe_line(type_name))),
        AgentEvent::Diagnostic { message } => {
            paint(WARN, &format!("! {}", one_line(message, LINE)))
        }
    })
}

/// A tool's output: its first lines (every line with `full`), then `… +N lines`.
fn tool_output(content: &str, is_error: bool, full: bool) -> String {
    let lines: Vec<&str> = content
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    let (style, first) = if is_error {
        (ERROR, "← error: ")
    } else {
        (DIM, "← ")
    };
    if lines.is_empty() {
        return paint(style, &format!("{first}(no output)"));
    }
    let shown = if full {
        lines.len()
    } else {
        TOOL_LINES.min(lines.len())
    };
    let mut out = Vec::with_capacity(shown + 1);
    for (index, line) in lines.iter().take(shown).enumerate() {
        let lead = if index == 0 { first } else { "  " };
        out.push(paint(
            style,
            &format!("{lead}{}", cut(line.trim_end(), LINE)),
        ));
    }
    if shown < lines.len() {
        out.push(paint(DIM, &format!("  … +{} lines", lines.len() - shown)));
    }
    out.join("\n")
}

/// A turn's result: done or why not, then one line per refused tool call.
fn result_lines(usage: &RunUsage, failure: Option<String>, denials: &[PermissionDenial]) -> String {
    let summary = usage_summary(usage);
    let mut line = match failure {
        Some(why) => paint(ERROR, &format!("✗ {} · {summary}", one_line(&why, LINE))),
        None => paint(GOOD, &format!("✓ turn done · {summary}")),
    };
    if let Some(refused) = refused_lines(denials) {
        line.push('\n');
        line.push_str(&refused);
    }
    line
}

/// One `! Bash needed approval: touch notes.md` line per refused call, or `None`.
pub fn refused_lines(denials: &[PermissionDenial]) -> Option<String> {
    let lines: Vec<String> = denials
        .iter()
        .map(|denial| denial_line(&denial.tool_name, &tool_summary(&denial.input_json)))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// `! Bash needed approval: touch notes.md` (`what` is already made safe).
fn denial_line(tool_name: &str, what: &str) -> String {
    paint(
        WARN,
        &format!("! {} needed approval: {what}", safe_line(tool_name)),
    )
}

/// How to let the agent use the refused `tools` (one name per refused call) next time, or
/// `None` when nothing was refused.
pub fn allow_hint(tools: &[String]) -> Option<String> {
    let first = tools.first()?;
    let mut names: Vec<&str> = Vec::new();
    for tool in tools {
        if !names.contains(&tool.as_str()) {
            names.push(tool);
        }
    }
    let flags: Vec<String> = names
        .iter()
        .map(|name| format!("--allowed-tools {}", safe_line(name)))
        .collect();
    let (calls, them) = if tools.len() == 1 {
        (
            format!(
                "a {} call needed approval and was refused",
                safe_line(first)
            ),
            "it",
        )
    } else {
        (
            format!(
                "{} tool calls needed approval and were refused",
                tools.len()
            ),
            "them",
        )
    };
    Some(format!(
        "{calls}: allow {them} with {} (or --permission-mode acceptEdits for file edits)",
        flags.join(" ")
    ))
}

/// A permission request: what the agent waits for the user to allow.
fn asks_line(tool_name: &str, input_json: &str) -> String {
    let asked = format!("{}: {}", safe_line(tool_name), tool_summary(input_json));
    paint(WARN, &format!("? needs approval: {asked}"))
}

/// Why a turn ended in error, in words: an aborted turn was interrupted; otherwise the
/// first real error (the CLI's `[ede_diagnostic]` notes are for its developers).
fn failure_reason(
    subtype: &str,
    errors: &[String],
    text: Option<&str>,
    terminal_reason: Option<&str>,
) -> String {
    if terminal_reason.is_some_and(|reason| reason.starts_with("aborted")) {
        return "interrupted".to_owned();
    }
    errors
        .iter()
        .find(|error| !error.starts_with("[ede_diagnostic]"))
        .map(String::as_str)
        .or(text)
        .unwrap_or(subtype)
        .to_owned()
}

/// `1 turn`, `2 turns`.
pub fn turns(count: u64) -> String {
    if count == 1 {
        "1 turn".to_owned()
    } else {
        format!("{count} turns")
    }
}

fn usage_summary(usage: &RunUsage) -> String {
    format!(
        "{} · {} · {}",
        turns(usage.num_turns),
        money(usage.cost_usd),
        duration_ms(usage.duration_ms)
    )
}

/// The interesting part of a tool input: a command, a path, a pattern, else the JSON, cut.
fn tool_summary(input_json: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(input_json).ok();
    let key_field = parsed.as_ref().and_then(|value| {
        [
            "command",
            "file_path",
            "path",
            "pattern",
            "url",
            "description",
            "prompt",
        ]
        .into_iter()
        .find_map(|key| value.get(key).and_then(serde_json::Value::as_str))
    });
    match key_field {
        Some(text) => one_line(text, LINE),
        None => cut(input_json, LINE),
    }
}

/// The last line of a foreground run: status, turns, cost, and how long it took.
pub fn final_line(session: &Session, elapsed_ms: u64) -> String {
    let status = session.status;
    let mut text = format!(
        "{} · {} · {} · {}",
        status.as_str(),
        turns(session.totals.num_turns),
        money(session.totals.cost_usd),
        duration_ms(elapsed_ms)
    );
    if let Some(error) = &session.last_error {
        text.push_str(" · ");
        text.push_str(&cut(error, LINE));
    }
    if session.lost_events > 0 {
        let _ = match session.lost_events {
            1 => write!(text, " · 1 transcript line could not be stored"),
            lost => write!(text, " · {lost} transcript lines could not be stored"),
        };
    }
    match status {
        SessionStatus::Interrupted | SessionStatus::Completed | SessionStatus::Failed => {
            paint(style::status(status), &text)
        }
        SessionStatus::Queued
        | SessionStatus::Starting
        | SessionStatus::Running
        | SessionStatus::NeedsApproval
        | SessionStatus::Idle
        | SessionStatus::Interrupting => text,
    }
}
