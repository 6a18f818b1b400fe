//! `lulu interrupt`.

use std::process::ExitCode;
use std::time::Instant;

use lulu_domain::SessionStatus;
use lulu_runtime::protocol::Request;

use super::Context;
use crate::args::InterruptArgs;
use crate::exit;
use crate::render::json::SessionJson;
use crate::spinner::Spinner;

/// `lulu interrupt`: exit 0 once interrupted; 1 with a message otherwise.
pub async fn interrupt(context: &Context, args: &InterruptArgs) -> anyhow::Result<ExitCode> {
    let runtime = context.open().await?;
    let id = runtime.resolve(&args.id).await?;
    let began = Instant::now();
    let spinner = Spinner::start(format!("interrupting {}…", id.short()));
    // The daemon, if one runs, carries it out (asking another owner itself if need be).
    let result = match context.answering_daemon().await? {
        Some(mut daemon) => daemon.session(&Request::Interrupt { id }).await,
        None => runtime.interrupt(id).await,
    };
    spinner.finish();
    let session = result?;
    if args.json {
        super::inspect::print_json(&SessionJson::of(&session))?;
    }
    if session.status != SessionStatus::Interrupted {
        anstream::eprintln!(
            "lulu: session {} {} before the interrupt took effect",
            id.short(),
            session.status
        );
        return Ok(ExitCode::from(exit::FAILED));
    }
    if !args.json {
        anstream::println!(
            "interrupted {} in {:.1} s",
            id.short(),
            began.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}
