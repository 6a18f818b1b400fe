//! `lulu list` and `lulu show`.

use std::collections::HashSet;
use std::io::{IsTerminal as _, Write};
use std::process::ExitCode;

use lulu_domain::ports::{ListCursor, SessionFilter, SessionQuery};
use lulu_domain::{Session, SessionId, SessionStatus};
use lulu_runtime::Runtime;
use serde::ser::{SerializeSeq as _, Serializer as _};

use super::Context;
use crate::args::{ListArgs, ShowArgs};
use crate::render::json::SessionJson;
use crate::render::notes::getting_started;
use crate::render::sessions::{session_details, Times};
use crate::render::table::{list_footer, nothing_listed, session_rows, session_table, Fit};

/// How many sessions `list` shows on a terminal without `--limit` or `--all`.
const TERMINAL_ROWS: usize = 50;
/// How many sessions one read of `list --json` takes.
const JSON_PAGE: usize = 500;

/// `lulu list`.
pub async fn list(context: &Context, args: &ListArgs) -> anyhow::Result<ExitCode> {
    let runtime = context.open().await?;
    let filtered = args.filter.is_given();
    let filter = args.filter.to_filter(chrono::Utc::now())?;
    if args.json {
        print_json_rows(&runtime, args, &filter).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let terminal = std::io::stdout().is_terminal();
    let limit = if args.all {
        None
    } else {
        args.limit.or_else(|| terminal.then_some(TERMINAL_ROWS))
    };
    let query = SessionQuery {
        filter: filter.clone(),
        limit,
        after: None,
    };
    let sessions = waiting_first(&runtime, &query).await?;
    if sessions.is_empty() {
        anstream::eprintln!("{}", nothing_listed(filtered));
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = anstream::stdout().lock();
    if !terminal {
        write!(out, "{}", session_rows(&sessions))?;
        return Ok(ExitCode::SUCCESS);
    }
    let unreachable = runtime.sessions_owned_elsewhere().await?;
    let home = std::env::var("HOME").ok();
    let fit = Fit {
        width: terminal_size::terminal_size().map_or(100, |(width, _)| usize::from(width.0)),
        home: home.as_deref(),
    };
    write!(
        out,
        "{}",
        session_table(&sessions, &unreachable, chrono::Utc::now(), fit)
    )?;
    let summary = runtime.summarize(&filter).await?;
    writeln!(out, "{}", list_footer(sessions.len(), &summary, filtered))?;
    Ok(ExitCode::SUCCESS)
}

/// The sessions needing approval, when `query` lists every status (what waits for the
/// user comes first, however old it is); none otherwise.
async fn waiting(runtime: &Runtime, query: &SessionQuery) -> anyhow::Result<Vec<Session>> {
    if !query.filter.statuses.is_empty() {
        return Ok(Vec::new());
    }
    let waiting = SessionQuery {
        filter: SessionFilter {
            statuses: vec![SessionStatus::NeedsApproval],
            ..query.filter.clone()
        },
        limit: query.limit,
        after: None,
    };
    Ok(runtime.list(&waiting).await?)
}

/// What `query` lists, sessions needing approval first, the rest newest first; at most
/// `query.limit` in all.
async fn waiting_first(runtime: &Runtime, query: &SessionQuery) -> anyhow::Result<Vec<Session>> {
    let mut sessions = waiting(runtime, query).await?;
    let waiting: HashSet<SessionId> = sessions.iter().map(|session| session.id).collect();
    let newest = runtime.list(query).await?;
    sessions.extend(
        newest
            .into_iter()
            .filter(|session| !waiting.contains(&session.id)),
    );
    if let Some(limit) = query.limit {
        sessions.truncate(limit);
    }
    Ok(sessions)
}

/// `list --json`: a JSON array written as the sessions are read, page by page, so a
/// listing of any size takes bounded memory (two pages). The same bytes as one
/// pretty-printed array. Sessions needing approval come first, as in the table. The next
/// page is read (on the database's thread) while this one is written.
async fn print_json_rows(
    runtime: &Runtime,
    args: &ListArgs,
    filter: &SessionFilter,
) -> anyhow::Result<()> {
    // Buffered: stdout alone is line-buffered, a write per line of the pretty JSON.
    let mut serializer =
        serde_json::Serializer::pretty(std::io::BufWriter::new(std::io::stdout().lock()));
    let mut array = serializer.serialize_seq(None)?;
    let mut left = if args.all { None } else { args.limit };
    let mut query = SessionQuery {
        filter: filter.clone(),
        limit: left,
        after: None,
    };
    let waiting = waiting(runtime, &query).await?;
    for session in &waiting {
        array.serialize_element(&SessionJson::of(session))?;
    }
    left = left.map(|left| left - waiting.len());
    let page_size = |left: Option<usize>| left.map_or(JSON_PAGE, |left| left.min(JSON_PAGE));
    let mut size = page_size(left);
    let mut page = if size == 0 {
        Vec::new()
    } else {
        query.limit = Some(size);
        runtime.list(&query).await?
    };
    loop {
        let shown: Vec<&Session> = page
            .iter()
            .filter(|session| !waiting.iter().any(|shown| shown.id == session.id))
            .collect();
        left = left.map(|left| left - shown.len());
        let next_size = page_size(left);
        let next = match page.last() {
            Some(last) if page.len() == size && next_size > 0 => {
                query.after = Some(ListCursor::after(last));
                query.limit = Some(next_size);
                Some(runtime.list(&query))
            }
            _ => None,
        };
        let write = async {
            for session in shown {
                array.serialize_element(&SessionJson::of(session))?;
            }
            anyhow::Ok(())
        };
        let Some(next) = next else {
            write.await?;
            break;
        };
        // The read is sent to the database's thread as it is first polled, before the
        // writing (which never waits) runs.
        let (next, written) = tokio::join!(next, write);
        written?;
        page = next?;
        size = next_size;
    }
    array.end()?;
    let mut out = serializer.into_inner();
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// How many sessions `lulu` with no command shows.
const OVERVIEW_ROWS: usize = 5;

/// `lulu` with no command: the newest sessions and the commands to start with.
pub async fn overview(context: &Context) -> anyhow::Result<ExitCode> {
    let args = ListArgs {
        filter: crate::args::FilterArgs::default(),
        limit: Some(OVERVIEW_ROWS),
        all: false,
        json: false,
    };
    list(context, &args).await?;
    anstream::println!("\n{}", getting_started());
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
        let times = if std::io::stdout().is_terminal() {
            Times::Local {
                now: chrono::Utc::now(),
                zone: chrono::Local,
            }
        } else {
            Times::Exact
        };
        let mut out = anstream::stdout().lock();
        write!(
            out,
            "{}",
            session_details(&details.session, &details.runs, &times)
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
