//! The `--json` shapes. Their keys are an interface: scripts and the desktop app rely on them.

use chrono::{DateTime, Utc};
use serde::Serialize;

use lulu_domain::{AgentOptions, Run, Session, TranscriptEntry};

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
    /// Permission requests waiting for an answer, oldest first.
    pending_approvals: Vec<ApprovalJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    runs: Option<Vec<RunJson>>,
}

/// One pending permission request in a session's JSON.
#[derive(Debug, Serialize)]
pub struct ApprovalJson {
    request_id: String,
    tool_name: String,
    /// What is asked in one line, e.g. `Bash: touch notes.md`.
    summary: String,
    /// The tool input, as the agent sent it.
    input: serde_json::Value,
    description: Option<String>,
    blocked_path: Option<String>,
    requested_at: String,
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
    /// The options the run was launched with (the session's, with a resume's overrides).
    options: AgentOptions,
    /// The model its agent said it runs, once it said so.
    model: Option<String>,
    /// The Claude Code CLI version its agent said it is.
    cli_version: Option<String>,
}

/// One transcript line in `logs --json` (one JSON object per line): `run_id`, `seq`,
/// `at`, `kind`, then the event's other fields, with a tool call's input (and a refused
/// call's) as a JSON object under `input`.
#[derive(Debug)]
pub struct EntryJson {
    run_id: String,
    seq: u64,
    at: String,
    event: serde_json::Map<String, serde_json::Value>,
}

impl Serialize for EntryJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(self.event.len() + 3))?;
        map.serialize_entry("run_id", &self.run_id)?;
        map.serialize_entry("seq", &self.seq)?;
        map.serialize_entry("at", &self.at)?;
        if let Some(kind) = self.event.get("kind") {
            map.serialize_entry("kind", kind)?;
        }
        for (key, value) in self.event.iter().filter(|(key, _)| *key != "kind") {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
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
            pending_approvals: session
                .pending_approvals
                .iter()
                .map(|request| ApprovalJson {
                    request_id: request.request_id.clone(),
                    tool_name: request.tool_name.clone(),
                    summary: request.summary(),
                    input: serde_json::from_str(&request.input_json)
                        .unwrap_or_else(|_| serde_json::Value::String(request.input_json.clone())),
                    description: request.description.clone(),
                    blocked_path: request.blocked_path.clone(),
                    requested_at: timestamp(request.requested_at),
                })
                .collect(),
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
            options: run.options.clone(),
            model: run.model.clone(),
            cli_version: run.cli_version.clone(),
        }
    }
}

impl EntryJson {
    /// The entry's JSON form.
    pub fn of(entry: &TranscriptEntry) -> Self {
        let mut event = match serde_json::to_value(&entry.event) {
            Ok(serde_json::Value::Object(fields)) => fields,
            _ => serde_json::Map::new(),
        };
        inline_input(&mut event);
        if let Some(serde_json::Value::Array(denials)) = event.get_mut("permission_denials") {
            for denial in denials
                .iter_mut()
                .filter_map(serde_json::Value::as_object_mut)
            {
                inline_input(denial);
            }
        }
        Self {
            run_id: entry.run_id.to_string(),
            seq: entry.seq,
            at: timestamp(entry.at),
            event,
        }
    }
}

/// Replaces `input_json` (JSON text) by `input` (the JSON it holds; the text itself if it
/// is not JSON).
fn inline_input(fields: &mut serde_json::Map<String, serde_json::Value>) {
    if let Some(serde_json::Value::String(text)) = fields.remove("input_json") {
        let input = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        fields.insert("input".to_owned(), input);
    }
}
