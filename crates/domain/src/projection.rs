//! The dashboard read model: one card per session, with the actions allowed now.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ids::SessionId;
use crate::session::{Session, SessionStatus};

/// What the user may do with a session in its current status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[allow(clippy::struct_excessive_bools)] // independent flags a front end reads one by one
pub struct AllowedActions {
    /// A queued or running session can be interrupted.
    pub interrupt: bool,
    /// An interrupted, completed or failed session can be resumed.
    pub resume: bool,
    /// A session with no live run can be deleted.
    pub delete: bool,
    /// A session that needs approval can be answered (allow, always, deny, stop).
    pub answer: bool,
}

impl AllowedActions {
    /// The actions allowed in `status`.
    pub const fn for_status(status: SessionStatus) -> Self {
        match status {
            SessionStatus::Queued | SessionStatus::Running | SessionStatus::Idle => Self {
                interrupt: true,
                resume: false,
                delete: false,
                answer: false,
            },
            SessionStatus::NeedsApproval => Self {
                interrupt: true,
                resume: false,
                delete: false,
                answer: true,
            },
            SessionStatus::Starting | SessionStatus::Interrupting => Self {
                interrupt: false,
                resume: false,
                delete: false,
                answer: false,
            },
            SessionStatus::Interrupted | SessionStatus::Completed | SessionStatus::Failed => Self {
                interrupt: false,
                resume: true,
                delete: true,
                answer: false,
            },
        }
    }
}

/// One dashboard card.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionCard {
    /// Session id.
    pub id: SessionId,
    /// First eight hex digits of the id.
    pub short_id: String,
    /// Status word (lowercase).
    pub status: SessionStatus,
    /// Status as shown to a person.
    pub status_label: &'static str,
    /// Title.
    pub title: String,
    /// Working directory.
    pub cwd: String,
    /// When anything last happened.
    pub last_activity: DateTime<Utc>,
    /// Total cost in US dollars.
    pub cost_usd: f64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// How many times it was resumed.
    pub resume_count: u32,
    /// Why the last run or operation failed.
    pub last_error: Option<String>,
    /// What the agent waits for the user to allow (`Bash: touch notes.md`), oldest first.
    pub asks: Vec<String>,
    /// What the user may do now.
    pub actions: AllowedActions,
}

/// The label a person reads for a status.
pub const fn status_label(status: SessionStatus) -> &'static str {
    match status {
        SessionStatus::Queued => "Queued",
        SessionStatus::Starting => "Starting",
        SessionStatus::Running => "Running",
        SessionStatus::NeedsApproval => "Needs approval",
        SessionStatus::Idle => "Idle",
        SessionStatus::Interrupting => "Interrupting",
        SessionStatus::Interrupted => "Interrupted",
        SessionStatus::Completed => "Completed",
        SessionStatus::Failed => "Failed",
    }
}

impl SessionCard {
    /// The card for one session.
    pub fn of(session: &Session) -> Self {
        Self {
            id: session.id,
            short_id: session.id.short(),
            status: session.status,
            status_label: status_label(session.status),
            title: session.title.as_str().to_owned(),
            cwd: session.cwd.as_str().to_owned(),
            last_activity: session.updated_at,
            cost_usd: session.totals.cost_usd,
            input_tokens: session.totals.input_tokens,
            output_tokens: session.totals.output_tokens,
            resume_count: session.resume_count,
            last_error: session.last_error.clone(),
            asks: session
                .pending_approvals
                .iter()
                .map(crate::approval::ApprovalRequest::summary)
                .collect(),
            actions: AllowedActions::for_status(session.status),
        }
    }
}

/// The dashboard: one card per session, those that need approval first, then most recent
/// activity first.
pub fn dashboard<'a>(sessions: impl IntoIterator<Item = &'a Session>) -> Vec<SessionCard> {
    let mut cards: Vec<SessionCard> = sessions.into_iter().map(SessionCard::of).collect();
    cards.sort_by(|a, b| {
        let waiting = |card: &SessionCard| card.status != SessionStatus::NeedsApproval;
        waiting(a)
            .cmp(&waiting(b))
            .then(b.last_activity.cmp(&a.last_activity))
            .then(a.id.cmp(&b.id))
    });
    cards
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use crate::testing::sample_session;

    #[test]
    fn card_of_a_session_in_every_status() {
        let mut table = String::new();
        for (n, status) in (1..).zip(SessionStatus::ALL) {
            let mut session = sample_session(n);
            session.status = status;
            session.resume_count = u32::from(status == SessionStatus::Completed);
            if status == SessionStatus::Failed {
                session.last_error = Some("API Error: 500 overloaded".into());
            }
            let card = SessionCard::of(&session);
            let AllowedActions {
                interrupt,
                resume,
                delete,
                answer,
            } = card.actions;
            let actions: Vec<&str> = [
                (interrupt, "interrupt"),
                (resume, "resume"),
                (delete, "delete"),
                (answer, "answer"),
            ]
            .into_iter()
            .filter_map(|(allowed, name)| allowed.then_some(name))
            .collect();
            writeln!(
                table,
                "{:<12} | {} | {} | {} | ${:.4} | {}/{} tok | resumes {} | error: {} | actions: {}",
                card.status_label,
                card.short_id,
                card.title,
                card.cwd,
                card.cost_usd,
                card.input_tokens,
                card.output_tokens,
                card.resume_count,
                card.last_error.as_deref().unwrap_or("-"),
                if actions.is_empty() {
                    "none".to_owned()
                } else {
                    actions.join(", ")
                },
            )
            .unwrap();
        }
        insta::assert_snapshot!(table);
    }

    #[test]
    fn dashboard_lists_the_most_recent_activity_first() {
        let older = sample_session(1);
        let mut newer = sample_session(2);
        newer.updated_at = older.updated_at + chrono::Duration::seconds(5);
        let cards = dashboard([&older, &newer]);
        assert_eq!(cards[0].id, newer.id);
        assert_eq!(cards[1].id, older.id);
    }

    #[test]
    fn a_session_that_needs_approval_sorts_first_and_says_what_is_asked() {
        let mut waiting = sample_session(1);
        waiting.status = SessionStatus::NeedsApproval;
        waiting
            .pending_approvals
            .push(crate::approval::ApprovalRequest {
                request_id: "r1".into(),
                tool_name: "Bash".into(),
                input_json: r#"{"command":"touch notes.md"}"#.into(),
                description: None,
                blocked_path: None,
                suggestions_json: None,
                requested_at: waiting.updated_at,
            });
        let mut newer = sample_session(2);
        newer.updated_at = waiting.updated_at + chrono::Duration::seconds(5);
        let cards = dashboard([&newer, &waiting]);
        assert_eq!(cards[0].id, waiting.id);
        assert_eq!(cards[0].asks, ["Bash: touch notes.md"]);
        assert!(cards[0].actions.answer && cards[0].actions.interrupt);
        assert!(cards[1].asks.is_empty());
    }
}
