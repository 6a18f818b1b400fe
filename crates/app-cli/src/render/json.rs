//! The `--json` shapes. Their keys are an interface: scripts and the desktop app rely on them.

use chrono::{DateTime, Utc};
use serde::Serialize;

use lulu_domain::{Run, Session, TranscriptEntry};

use super::text::timestamp;

/// A session as `list --json`, `interrupt --json` and `show --json` print it.
#[derive(Debug, Serialize)]
pub struct SessionJson {
    id: String,
    title: String,
    status: &'static str,
    cwd: String,
    created_at: String,
    updated_at: String,
    resume_count: u32,
    active_run_id: Option<String>,
    last_resume_at: Option<String>,
    last_error: Option<String>,
    total_cost_usd: f64,
    num_turns: u64,
    input_tokens: u64,
    output_tokens: u64,
    /// Transcript lines that could not be stored (0 for a complete transcript).
    lost_events: u64,
    /// Tool calls the agent was refused because they needed approval, over every run.
    permission_denials: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    runs: Option<Vec<RunJson>>,
}

/// One run in `show --json`.
#[derive(Debug, Serialize)]
pub struct RunJson {
    id: String,
    kind: &'static str,
    prompt: String,
    pid: Option<u32>,
    started_at: String,
    ended_at: Option<String>,
    outcome: Option<&'static str>,
    exit_code: Option<i32>,
}

/// One transcript line in `logs --json` (one JSON object per line).
#[derive(Debug, Serialize)]
pub struct EntryJson<'a> {
    run_id: String,
    seq: u64,
    at: String,
    #[serde(flatten)]
    event: &'a lulu_domain::AgentEvent,
}

fn time(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(timestamp)
}

impl SessionJson {
    /// The session's fields (no runs).
    pub fn of(session: &Session) -> Self {
        Self {
            id: session.id.to_string(),
            title: session.title.as_str().to_owned(),
            status: session.status.as_str(),
            cwd: session.cwd.as_str().to_owned(),
            created_at: timestamp(session.created_at),
            updated_at: timestamp(session.updated_at),
            resume_count: session.resume_count,
            active_run_id: session.active_run_id.map(|id| id.to_string()),
            last_resume_at: time(session.last_resume_at),
            last_error: session.last_error.clone(),
            total_cost_usd: session.totals.cost_usd,
            num_turns: session.totals.num_turns,
            input_tokens: session.totals.input_tokens,
            output_tokens: session.totals.output_tokens,
            lost_events: session.lost_events,
            permission_denials: session.totals.permission_denials,
            runs: None,
        }
    }

    /// The session's fields and its run history.
    pub fn with_runs(session: &Session, runs: &[Run]) -> Self {
        let mut json = Self::of(session);
        json.runs = Some(runs.iter().map(RunJson::of).collect());
        json
    }
}

impl RunJson {
    fn of(run: &Run) -> Self {
        Self {
            id: run.id.to_string(),
            kind: run.kind.as_str(),
            prompt: run.prompt.as_str().to_owned(),
            pid: run.pid,
            started_at: timestamp(run.started_at),
            ended_at: time(run.ended_at),
            outcome: run.outcome.as_ref().map(lulu_domain::RunOutcome::label),
            exit_code: run.exit_code,
        }
    }
}

impl<'a> EntryJson<'a> {
    /// The entry's JSON form.
    pub fn of(entry: &'a TranscriptEntry) -> Self {
        Self {
            run_id: entry.run_id.to_string(),
            seq: entry.seq,
            at: timestamp(entry.at),
            event: &entry.event,
        }
    }
}
