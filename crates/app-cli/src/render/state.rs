//! `show`'s plain words for where a session's conversation stands and what to type next.

use lulu_domain::{FailureKind, Run, RunOutcome, Session, SessionStatus};

/// Where a conversation stands, and what can be done about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationState {
    /// Where it stands, in a few words.
    pub what: String,
    /// The commands that take it on from here, if any.
    pub next: Option<String>,
}

/// Where the conversation of `session` stands (its latest run decides a failure's words).
pub fn conversation_state(session: &Session, runs: &[Run]) -> ConversationState {
    let short = session.id.short();
    let resume = format!("lulu resume {short} \"…\"");
    let state = |what: &str, next: String| ConversationState {
        what: what.to_owned(),
        next: Some(next),
    };
    match session.status {
        SessionStatus::Queued => state(
            "waiting for a free run slot (LULU_MAX_RUNNING)",
            format!("`lulu interrupt {short}` cancels the run"),
        ),
        SessionStatus::Starting | SessionStatus::Running => state(
            "the agent is working",
            format!(
                "`lulu logs -f {short}` follows it, `lulu interrupt {short}` stops it (resumably)"
            ),
        ),
        SessionStatus::NeedsApproval => state(
            "the agent waits for your answer",
            format!("`lulu approve {short}` or `lulu deny {short}`"),
        ),
        SessionStatus::Idle => state(
            "kept open, idle between turns",
            format!("`lulu send {short} \"…\"` asks more, `lulu close {short}` ends it"),
        ),
        SessionStatus::Interrupting => ConversationState {
            what: "being interrupted; it can be resumed once it has stopped".to_owned(),
            next: None,
        },
        _ if !session.agent_established => {
            let why = if runs.iter().any(|run| run.pid.is_some()) {
                "the agent never started one"
            } else {
                "the agent was never launched"
            };
            let see = if session.status == SessionStatus::Failed {
                ", see Last error"
            } else {
                ""
            };
            state(
                &format!("no conversation yet ({why}{see})"),
                format!("`{resume}` starts it afresh in this session"),
            )
        }
        SessionStatus::Interrupted => {
            state("interrupted; it can be resumed", format!("`{resume}`"))
        }
        SessionStatus::Completed => state(
            "the agent finished its turn",
            format!("`{resume}` continues the conversation"),
        ),
        SessionStatus::Failed => failed(last_failure(runs), &short, &resume),
    }
}

/// The category of the latest run's failure, if it failed.
fn last_failure(runs: &[Run]) -> Option<FailureKind> {
    match runs.last()?.outcome.as_ref()? {
        RunOutcome::Failed { kind, .. } => Some(*kind),
        RunOutcome::Completed | RunOutcome::Interrupted => None,
    }
}

fn failed(kind: Option<FailureKind>, short: &str, resume: &str) -> ConversationState {
    let (what, next) = match kind {
        Some(FailureKind::ApiError) => (
            "the API answered with an error (see Last error)",
            format!("once that is resolved, `{resume}` retries"),
        ),
        Some(FailureKind::Crashed) => (
            "the agent's process ended before its turn did",
            format!("`lulu logs {short}` shows how far it got; `{resume}` retries"),
        ),
        Some(FailureKind::LaunchFailed) => (
            "the agent could not be started (see Last error)",
            format!("fix that, then `{resume}`"),
        ),
        Some(FailureKind::InvalidArguments) => (
            "the Claude Code CLI refused its options (see Last error)",
            format!("resume with others: `lulu resume {short} --model MODEL \"…\"`"),
        ),
        Some(FailureKind::ConversationNotFound) => (
            "the Claude Code CLI has no transcript of it (deleted, or another directory)",
            "start a new session with `lulu run`".to_owned(),
        ),
        Some(FailureKind::SessionIdInUse) => (
            "the Claude Code CLI already has another conversation with this id",
            "start a new session with `lulu run`".to_owned(),
        ),
        None => (
            "the last run failed (see Last error)",
            format!("`{resume}` retries"),
        ),
    };
    ConversationState {
        what: what.to_owned(),
        next: Some(next),
    }
}
