//! `lulu rm`.

use std::process::ExitCode;

use super::Context;
use crate::args::RmArgs;

/// `lulu rm`.
pub async fn remove(context: &Context, args: &RmArgs) -> anyhow::Result<ExitCode> {
    let runtime = context.open().await?;
    let id = runtime.resolve(&args.id).await?;
    runtime
        .delete(id, args.force)
        .await
        .map_err(|error| match error {
            lulu_runtime::RuntimeError::Supervisor(lulu_domain::SupervisorError::StillLive {
                id,
                status,
            }) => {
                anyhow::anyhow!(
                    "session {} is {status}: interrupt it first, or use `lulu rm --force {}`",
                    id.short(),
                    id.short()
                )
            }
            other => other.into(),
        })?;
    anstream::println!("deleted {}", id.short());
    Ok(ExitCode::SUCCESS)
}
