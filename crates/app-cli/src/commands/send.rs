//! `lulu send`: a follow-up message to a live run; `lulu close`: end a kept-open one.

use std::process::ExitCode;

use lulu_domain::Prompt;
use lulu_runtime::protocol::Request;

use super::Context;
use crate::args::{CloseArgs, SendArgs};
use crate::render::json::SessionJson;

/// `lulu send`: exit 0 once the agent's stdin took the message; 1 with a message otherwise.
pub async fn send(context: &Context, args: &SendArgs) -> anyhow::Result<ExitCode> {
    let text = Prompt::parse(args.text.join(" "))?;
    let runtime = context.open().await?;
    let id = runtime.resolve(&args.id).await?;
    let session = match context.answering_daemon().await? {
        Some(mut daemon) => {
            let request = Request::Send {
                id,
                text: text.into(),
            };
            daemon.session(&request).await?
        }
        None => runtime.send(id, text).await?,
    };
    if args.json {
        super::inspect::print_json(&SessionJson::of(&session))?;
    } else {
        anstream::println!("sent to {} ({})", id.short(), session.status.label());
    }
    Ok(ExitCode::SUCCESS)
}

/// `lulu close`: exit 0 once the idle run was told to end (it ends `completed`).
pub async fn close(context: &Context, args: &CloseArgs) -> anyhow::Result<ExitCode> {
    let runtime = context.open().await?;
    let id = runtime.resolve(&args.id).await?;
    let session = match context.answering_daemon().await? {
        Some(mut daemon) => daemon.session(&Request::Close { id }).await?,
        None => runtime.close(id).await?,
    };
    if args.json {
        super::inspect::print_json(&SessionJson::of(&session))?;
    } else {
        anstream::println!("closing {}: it ends after its last turn", id.short());
    }
    Ok(ExitCode::SUCCESS)
}
