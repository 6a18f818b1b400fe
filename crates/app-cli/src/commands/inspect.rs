//! `lulu list` and `lulu show`.

use std::io::Write as _;
use std::process::ExitCode;

use lulu_domain::ports::SessionQuery;
use lulu_domain::SessionStatus;

use super::Context;
use crate::args::{ListArgs, ShowArgs};
use crate::render::json::SessionJson;
use crate::render::sessions::{session_details, session_table};

/// `lulu list`.
pub async fn list(context: &Context, args: &ListArgs) -> anyhow::Result<ExitCode> {
    let runtime = context.open().await?;
    let query = SessionQuery {
        status: args.status,
        limit: args.limit,
    };
    let mut sessions = runtime.list(&query).await?;
    // What waits for the user comes first; the order is otherwise kept (newest first).
    sessions.sort_by_key(|session| session.status != SessionStatus::NeedsApproval);
    if args.json {
        let json: Vec<SessionJson> = sessions.iter().map(SessionJson::of).collect();
        print_json(&json)?;
    } else {
        let unreachable = runtime.sessions_owned_elsewhere().await?;
        let table = session_table(&sessions, &unreachable, chrono::Utc::now());
        let mut out = anstream::stdout().lock();
        write!(out, "{table}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `lulu show`.
pub async fn show(context: &Context, args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let runtime = context.open().await?;
    let id = runtime.resolve(&args.id).await?;
    let details = runtime.details(id).await?;
    if args.json {
        print_json(&SessionJson::with_runs(&details.session, &details.runs))?;
    } else {
        let mut out = anstream::stdout().lock();
        write!(
            out,
            "{}",
            session_details(&details.session, &details.runs, chrono::Utc::now())
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints `value` as pretty JSON on plain stdout: byte for byte what `serde_json` wrote (it
/// escapes control characters itself), never through a stream that edits escapes.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string_pretty(value)?)?;
    Ok(())
}
