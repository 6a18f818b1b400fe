//! Talking to a live session: answering its permission requests, sending it a follow-up,
//! closing it when it idles between turns. Thin like every command: the checks that need
//! no daemon are made here (a settled session starts none), the rest is the daemon's, which
//! owns the run and decides races (of two answers at once exactly one wins).

use std::sync::Arc;

use tauri::State;

use lulu_domain::{ApprovalAnswer, Prompt, Session, SessionStatus, SupervisorError};
use lulu_runtime::protocol::Request;
use lulu_runtime::RuntimeError;

use crate::commands::{existing, session_of};
use crate::error::CommandError;
use crate::state::AppState;

/// The answers a permission request takes, as the UI names them.
pub const ANSWERS: [&str; 4] = ["allow", "always", "deny", "stop"];

/// Answers a pending permission request of session `id`: `request_id` (the oldest pending
/// one when left out) with `answer` (`allow`, `always`: allow for the rest of the session,
/// `deny`, `stop`: deny and end the turn); `message` tells the agent why it was denied.
#[tauri::command]
pub async fn answer_approval(
    state: State<'_, Arc<AppState>>,
    id: String,
    request_id: Option<String>,
    answer: String,
    message: Option<String>,
) -> Result<Session, CommandError> {
    let answer = parse_answer(&answer, message)?;
    if request_id
        .as_deref()
        .is_some_and(|text| text.trim().is_empty())
    {
        return Err(CommandError::input(
            "request_id",
            "invalid_input",
            "the request id is empty: leave it out to answer the oldest pending request",
        ));
    }
    let session = existing(&state, &id).await?;
    let pending = session.pending_approvals.iter().any(|request| {
        request_id
            .as_deref()
            .is_none_or(|wanted| request.request_id == wanted.trim())
    });
    if !pending {
        return Err(refusal(SupervisorError::NoPendingApproval {
            id: session.id,
            request_id,
        }));
    }
    let request = Request::Answer {
        id: session.id,
        request_id: request_id.map(|text| text.trim().to_owned()),
        answer,
    };
    session_of(state.ask_daemon(&request).await?)
}

/// Writes `text` to the live run of session `id` as the user's next message: idle between
/// turns it starts a turn; while the agent writes it is queued for the next turn; while a
/// tool runs it joins the turn.
#[tauri::command]
pub async fn send_message(
    state: State<'_, Arc<AppState>>,
    id: String,
    text: String,
) -> Result<Session, CommandError> {
    let Ok(message) = Prompt::parse(text) else {
        return Err(CommandError::input(
            "text",
            "invalid_input",
            "the message is empty: type what to tell the agent",
        ));
    };
    let session = existing(&state, &id).await?;
    if !session.status.is_live() {
        return Err(refusal(SupervisorError::NotAcceptingInput {
            id: session.id,
            status: session.status,
            reason: "it has no live run; resume it to continue the conversation".to_owned(),
        }));
    }
    let request = Request::Send {
        id: session.id,
        text: message.into(),
    };
    session_of(state.ask_daemon(&request).await?)
}

/// Ends the kept-open run of session `id`, idle between turns: it ends `completed`.
#[tauri::command]
pub async fn close_session(
    state: State<'_, Arc<AppState>>,
    id: String,
) -> Result<Session, CommandError> {
    let session = existing(&state, &id).await?;
    if session.status != SessionStatus::Idle {
        return Err(refusal(SupervisorError::NotIdle {
            id: session.id,
            status: session.status,
        }));
    }
    session_of(state.ask_daemon(&Request::Close { id: session.id }).await?)
}

/// The answer the UI's word and message stand for.
fn parse_answer(word: &str, message: Option<String>) -> Result<ApprovalAnswer, CommandError> {
    let message = message
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty());
    match (word.trim(), message) {
        ("allow", None) => Ok(ApprovalAnswer::Allow),
        ("always", None) => Ok(ApprovalAnswer::AllowAlways),
        ("deny", message) => Ok(ApprovalAnswer::Deny { message }),
        ("stop", message) => Ok(ApprovalAnswer::DenyAndStop { message }),
        ("allow" | "always", Some(_)) => Err(CommandError::input(
            "message",
            "bad_option",
            "a message goes with a denial only (deny or stop): the agent is told why it may not",
        )),
        (other, _) => Err(CommandError::input(
            "answer",
            "bad_option",
            format!(
                "`{other}` is not an answer to a permission request: use one of {}",
                ANSWERS.join(", ")
            ),
        )),
    }
}

/// The runtime's refusal, with its stable code and message, as the daemon would give it.
fn refusal(error: SupervisorError) -> CommandError {
    RuntimeError::from(error).into()
}
