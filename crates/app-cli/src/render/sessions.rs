//! `show` as people read it.

use std::fmt::Write as _;

use chrono::{DateTime, TimeZone, Utc};

use lulu_domain::{Run, Session};

use super::safe::safe_line;
use super::state::conversation_state;
use super::style::{self, paint, BOLD, DIM, ERROR, WARN};
use super::text::{cut, duration_ms, local_time, money, one_line, timestamp};

/// How `show` writes times.
#[derive(Debug, Clone)]
pub enum Times<Tz> {
    /// For people on a terminal: how long ago, and the clock time in `zone`.
    Local {
        /// The time now.
        now: DateTime<Utc>,
        /// The zone clock times are told in (the local one).
        zone: Tz,
    },
    /// RFC 3339 UTC, for programs reading a pipe.
    Exact,
}

impl<Tz: TimeZone> Times<Tz> {
    fn at(&self, at: DateTime<Utc>) -> String {
        match self {
            Self::Local { now, zone } => local_time(at, *now, zone),
            Self::Exact => timestamp(at),
        }
    }
}

/// `show`: every field, where the conversation stands, then what each run used and did.
pub fn session_details<Tz: TimeZone>(session: &Session, runs: &[Run], times: &Times<Tz>) -> String {
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
    let state = conversation_state(session, runs);
    field("Conversation", state.what);
    if let Some(next) = state.next {
        field("Next", next);
    }
    for request in &session.pending_approvals {
        field("Asks", safe_line(&request.summary()).into_owned());
    }
    field("Directory", safe_line(session.cwd.as_str()).into_owned());
    field(
        "Agent",
        runs.iter()
            .rev()
            .find_map(reported_agent)
            .unwrap_or_else(|| "not reported yet (it says so when a run starts)".to_owned()),
    );
    field("Created", times.at(session.created_at));
    field("Updated", times.at(session.updated_at));
    field(
        "Resumed",
        match session.last_resume_at {
            Some(at) => {
                let times_word = if session.resume_count == 1 {
                    "time"
                } else {
                    "times"
                };
                format!(
                    "{} {times_word}, last {}",
                    session.resume_count,
                    times.at(at)
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
    out.push_str(&run_list(runs, times));
    out
}

/// `claude-opus-4-8 · Claude Code 2.1.197`, once the run's agent said it.
fn reported_agent(run: &Run) -> Option<String> {
    let model = run.model.as_deref()?;
    let version = run.cli_version.as_deref().unwrap_or("?");
    Some(safe_line(&format!("{model} · Claude Code {version}")).into_owned())
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

/// Each run in four lines: when, how long and how it ended; its prompt; the agent it
/// ran (and its pid); the options it used.
fn run_list<Tz: TimeZone>(runs: &[Run], times: &Times<Tz>) -> String {
    let mut out = paint(BOLD, "Runs");
    out.push('\n');
    for (index, run) in runs.iter().enumerate() {
        let mut facts = vec![times.at(run.started_at)];
        if let Some(ended) = run.ended_at {
            let took = (ended - run.started_at).num_milliseconds().max(0);
            facts.push(format!("took {}", duration_ms(took.unsigned_abs())));
        }
        let unfinished = if run.pid.is_some() {
            "running"
        } else {
            "not started"
        };
        let outcome = run
            .outcome
            .as_ref()
            .map_or(unfinished, lulu_domain::RunOutcome::label);
        facts.push(match run.exit_code {
            Some(code) => format!("{outcome} (exit {code})"),
            None => outcome.to_owned(),
        });
        let _ = writeln!(
            out,
            "{:<3}{:<7} {}  {}",
            index + 1,
            run.kind.as_str(),
            paint(BOLD, &run.id.short()),
            facts.join(" · ")
        );
        // Every line fits 80 columns but for long dates and option lists.
        let _ = writeln!(out, "   » {}", one_line(run.prompt.as_str(), 72));
        let mut agent = reported_agent(run).unwrap_or_else(|| "not reported".to_owned());
        if let Some(pid) = run.pid {
            let _ = write!(agent, " · pid {pid}");
        }
        let options = safe_line(&describe_options(&run.options)).into_owned();
        let options = if options.is_empty() {
            "the agent's defaults".to_owned()
        } else {
            options
        };
        let _ = writeln!(out, "   {}", paint(DIM, &format!("agent    {agent}")));
        let _ = writeln!(out, "   {}", paint(DIM, &format!("options  {options}")));
    }
    out
}
