//! `show` as people read it.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use lulu_domain::{Run, Session};

use super::safe::safe_line;
use super::style::{self, paint, BOLD, ERROR, WARN};
use super::text::{age, cut, money, one_line, timestamp};

/// `show`: every field, then the run history.
pub fn session_details(session: &Session, runs: &[Run], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let mut field = |name: &str, value: String| {
        let _ = writeln!(out, "{}  {value}", paint(BOLD, &format!("{name:<12}")));
    };
    field("Session", session.id.to_string());
    field("Title", safe_line(session.title.as_str()).into_owned());
    field(
        "Status",
        paint(style::status(session.status), &session.status.label()),
    );
    for request in &session.pending_approvals {
        field("Asks", safe_line(&request.summary()).into_owned());
    }
    field("Directory", safe_line(session.cwd.as_str()).into_owned());
    field("Created", timestamp(session.created_at));
    field(
        "Updated",
        format!(
            "{} ({})",
            timestamp(session.updated_at),
            age(session.updated_at, now)
        ),
    );
    field(
        "Resumed",
        match session.last_resume_at {
            Some(at) => {
                let times = if session.resume_count == 1 {
                    "time"
                } else {
                    "times"
                };
                format!(
                    "{} {times}, last at {}",
                    session.resume_count,
                    timestamp(at)
                )
            }
            None => "never".to_owned(),
        },
    );
    field(
        "Active run",
        session
            .active_run_id
            .map_or_else(|| "-".to_owned(), |id| id.to_string()),
    );
    field(
        "Conversation",
        if session.agent_established {
            "established (resumes use --resume)"
        } else {
            "not established yet"
        }
        .to_owned(),
    );
    let totals = session.totals;
    field(
        "Usage",
        format!(
            "{} · {} · {} input / {} output tokens",
            money(totals.cost_usd),
            super::transcript::turns(totals.num_turns),
            totals.input_tokens,
            totals.output_tokens
        ),
    );
    field(
        "Last error",
        session
            .last_error
            .as_deref()
            .map_or_else(|| "-".to_owned(), |error| paint(ERROR, &safe_line(error))),
    );
    if let Some(refused) = refused(totals.permission_denials) {
        field("Refused", refused);
    }
    if session.lost_events > 0 {
        field(
            "Transcript",
            paint(
                ERROR,
                &format!(
                    "incomplete: {} lines could not be stored (the database or disk was full)",
                    session.lost_events
                ),
            ),
        );
    }
    field("Prompt", one_line(session.prompt.as_str(), 100));
    let options = safe_line(&describe_options(&session.options)).into_owned();
    if !options.is_empty() {
        field("Options", options);
    }
    out.push('\n');
    out.push_str(&run_table(runs));
    out
}

/// How many tool calls needed approval and were refused, if any.
fn refused(count: u64) -> Option<String> {
    let calls = match count {
        0 => return None,
        1 => "1 tool call".to_owned(),
        _ => format!("{count} tool calls"),
    };
    Some(paint(
        WARN,
        &format!("{calls} needed approval (allow with --allowed-tools TOOL or --permission-mode)"),
    ))
}

fn describe_options(options: &lulu_domain::AgentOptions) -> String {
    let mut parts = Vec::new();
    let mut one = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            parts.push(format!("{name}={value}"));
        }
    };
    one("model", options.model.clone());
    one("permission-mode", options.permission_mode.clone());
    one(
        "max-turns",
        options.max_turns.map(|turns| turns.to_string()),
    );
    let list = |values: &[String]| (!values.is_empty()).then(|| values.join(","));
    one("allowed-tools", list(&options.allowed_tools));
    one("disallowed-tools", list(&options.disallowed_tools));
    one("add-dir", list(&options.add_dirs));
    one(
        "append-system-prompt",
        options
            .append_system_prompt
            .as_deref()
            .map(|text| cut(text, 40)),
    );
    one("extra-args", list(&options.extra_args));
    parts.join(" ")
}

fn run_table(runs: &[Run]) -> String {
    let mut out = paint(
        BOLD,
        &format!(
            "{:<3} {:<8}  {:<6}  {:<20}  {:<20}  {:>7}  {:<22}  {:>4}  PROMPT",
            "#", "RUN", "KIND", "STARTED", "ENDED", "PID", "OUTCOME", "EXIT"
        ),
    );
    out.push('\n');
    for (index, run) in runs.iter().enumerate() {
        let _ = writeln!(
            out,
            "{:<3} {:<8}  {:<6}  {:<20}  {:<20}  {:>7}  {:<22}  {:>4}  {}",
            index + 1,
            run.id.short(),
            run.kind.as_str(),
            timestamp(run.started_at),
            run.ended_at.map_or_else(|| "-".to_owned(), timestamp),
            run.pid
                .map_or_else(|| "-".to_owned(), |pid| pid.to_string()),
            run.outcome
                .as_ref()
                .map_or("running", lulu_domain::RunOutcome::label),
            run.exit_code
                .map_or_else(|| "-".to_owned(), |code| code.to_string()),
            one_line(run.prompt.as_str(), 50),
        );
    }
    out
}
