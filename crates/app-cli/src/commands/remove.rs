//! `lulu rm`.

use std::process::ExitCode;

use super::Context;
use crate::args::RmArgs;

/// `lulu rm`.
pub async fn remove(context: &Context, args: &RmArgs) -> anyhow::Result<ExitCode> {
    let runtime = context.open().await?;
    let id = runtime.resolve(&args.id).await?;
    // The daemon, when it answers, carries the deletion out (it most likely owns a live
    // session, and its watchers learn of it).
    let status = runtime.session(id).await?.status;
    let deleted = match context.answering_daemon().await? {
        Some(mut daemon) => match daemon.delete(id, args.force).await {
            // On its way out it takes no requests: do it here.
            Err(error) if error.code() == "daemon_stopping" => runtime.delete(id, args.force).await,
            deleted => deleted,
        },
        None => runtime.delete(id, args.force).await,
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
