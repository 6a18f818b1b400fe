//! `lulu rm`.

use std::process::ExitCode;

use super::Context;
use crate::args::RmArgs;

/// `lulu rm`.
pub async fn remove(context: &Context, args: &RmArgs) -> anyhow::Result<ExitCode> {
    let runtime = context.open().await?;
    let id = runtime.resolve(&args.id).await?;
    // A live session's owner is most likely the daemon: it carries the deletion out.
    let status = runtime.session(id).await?.status;
    let deleted = match context.answering_daemon().await? {
        Some(mut daemon) if status.is_live() => daemon.delete(id, args.force).await,
        _ => runtime.delete(id, args.force).await,
    };
    deleted.map_err(|error| {
        if error.code() == "still_live" {
            anyhow::anyhow!(
                "session {} is {status}: interrupt it first, or use `lulu rm --force {}`",
                id.short(),
                id.short()
            )
        } else {
            error.into()
        }
    })?;
    anstream::println!("deleted {}", id.short());
    Ok(ExitCode::SUCCESS)
}
