//! `lulu approve` and `lulu deny`: answer what a session that needs approval asks.

use std::process::ExitCode;

use lulu_domain::{ApprovalAnswer, Session, SessionId};
use lulu_runtime::protocol::Request;

use super::Context;
use crate::args::{ApproveArgs, DenyArgs};
use crate::render::json::SessionJson;
use crate::render::safe::safe_line;

/// `lulu approve`: exit 0 once the answer is stored and sent; 1 with a message otherwise.
pub async fn approve(context: &Context, args: &ApproveArgs) -> anyhow::Result<ExitCode> {
    let answer = if args.always {
        ApprovalAnswer::AllowAlways
    } else {
        ApprovalAnswer::Allow
    };
    answer_and_report(context, &args.id, args.request.clone(), answer, args.json).await
}

/// `lulu deny`: exit 0 once the answer is stored and sent; 1 with a message otherwise.
pub async fn deny(context: &Context, args: &DenyArgs) -> anyhow::Result<ExitCode> {
    let message = args.message.clone().filter(|text| !text.trim().is_empty());
    let answer = if args.stop {
        ApprovalAnswer::DenyAndStop { message }
    } else {
        ApprovalAnswer::Deny { message }
    };
    answer_and_report(context, &args.id, args.request.clone(), answer, args.json).await
}

async fn answer_and_report(
    context: &Context,
    id_text: &str,
    request_id: Option<String>,
    answer: ApprovalAnswer,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let runtime = context.open().await?;
    let id = runtime.resolve(id_text).await?;
    let before = runtime.session(id).await?;
    let asked = match &request_id {
        Some(wanted) => before
            .pending_approvals
            .iter()
            .find(|request| &request.request_id == wanted),
        None => before.pending_approvals.first(),
    }
    .map(lulu_domain::ApprovalRequest::summary);
    let label = answer.label();
    let session = send_answer(context, id, request_id, answer).await?;
    if json {
        super::inspect::print_json(&SessionJson::of(&session))?;
    } else {
        let what = asked.map(|summary| format!(" {}", safe_line(&summary)));
        let done = match label {
            "allow" => "allowed",
            "allow_always" => "allowed for the rest of the session",
            "deny" => "denied",
            _ => "denied and stopped the turn of",
        };
        anstream::println!(
            "{done}{} in {} (now {})",
            what.unwrap_or_default(),
            id.short(),
            session.status.label()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Sends an answer through the daemon that owns the run (the only owner of runs); without
/// one answering, this process says why it cannot be answered.
pub async fn send_answer(
    context: &Context,
    id: SessionId,
    request_id: Option<String>,
    answer: ApprovalAnswer,
) -> anyhow::Result<Session> {
    let request = Request::Answer {
        id,
        request_id: request_id.clone(),
        answer: answer.clone(),
    };
    if let Some(mut daemon) = context.answering_daemon().await? {
        return Ok(daemon.session(&request).await?);
    }
    let runtime = context.open().await?;
    Ok(runtime.answer(id, request_id, answer).await?)
}
