//! Printing transcripts: stored (`logs`), tailed from the database (`logs --follow`), and
//! the lines of a run this process owns (`run`, `resume`).

use std::io::Write;
use std::process::ExitCode;

use lulu_domain::{AgentEvent, Run, RunId, RunOutcome, Session, SessionId, TranscriptEntry};
use lulu_runtime::Runtime;

use super::Context;
use crate::args::LogsArgs;
use crate::render::json::EntryJson;
use crate::render::style::{self, paint};
use crate::render::text::one_line;
use crate::render::transcript::{event_line_with, run_header, run_prompt, Detail};

/// How many entries one database read fetches.
const PAGE: usize = 1000;
/// The longest reason a settled line quotes, in characters.
const LINE_CHARS: usize = 240;

/// How transcript entries are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people, in this detail.
    Text(Detail),
    /// One JSON object per line.
    Json,
}

impl Format {
    /// JSON lines, or text in the default detail.
    pub fn json_or_text(json: bool) -> Self {
        if json {
            Self::Json
        } else {
            Self::Text(Detail::default())
        }
    }
}

/// Prints entries in `format`; returns the last seq printed. JSON goes to plain stdout,
/// byte-faithful; text is neutralised by the renderer.
pub fn print_entries(entries: &[TranscriptEntry], format: Format) -> Option<u64> {
    let mut out: Box<dyn Write> = match format {
        Format::Json => Box::new(std::io::stdout().lock()),
        Format::Text(_) => Box::new(anstream::stdout().lock()),
    };
    for entry in entries {
        let line = match format {
            Format::Json => serde_json::to_string(&EntryJson::of(entry)).ok(),
            Format::Text(detail) => event_line_with(&entry.event, detail),
        };
        if let Some(line) = line {
            let _ = writeln!(out, "{line}");
        }
    }
    let _ = out.flush();
    entries.last().map(|entry| entry.seq)
}

/// Prints every stored entry of `run` after `after`; returns the last seq printed.
pub async fn print_stored(
    runtime: &Runtime,
    run: RunId,
    mut after: Option<u64>,
    format: Format,
) -> anyhow::Result<Option<u64>> {
    loop {
        let page = runtime.transcript(run, after, PAGE).await?;
        if page.is_empty() {
            return Ok(after);
        }
        after = print_entries(&page, format).or(after);
    }
}

/// A run's header and the prompt it was given.
fn print_header(number: usize, run: &Run, format: Format) {
    if matches!(format, Format::Text(_)) {
        anstream::println!("{}\n{}", run_header(number, run), run_prompt(run));
    }
}

/// Why a run that printed nothing never launched (or ended before saying anything).
fn print_silent_end(run: &Run, last: Option<u64>, format: Format) {
    if let (Format::Text(_), None, Some(RunOutcome::Failed { message, .. })) =
        (format, last, &run.outcome)
    {
        anstream::println!(
            "{}",
            paint(
                style::ERROR,
                &format!("✗ {}", one_line(message, LINE_CHARS))
            )
        );
    }
}

/// `lulu logs [--follow]`.
pub async fn logs(context: &Context, args: &LogsArgs) -> anyhow::Result<ExitCode> {
    let runtime = context.open().await?;
    let id = super::resolve_or_newest(&runtime, args.id.as_deref()).await?;
    let format = if args.json {
        Format::Json
    } else {
        Format::Text(Detail {
            full: args.full,
            verbose: context.verbose,
        })
    };
    let details = runtime.details(id).await?;
    let mut last = None;
    for (index, run) in details.runs.iter().enumerate() {
        print_header(index + 1, run, format);
        last = print_stored(&runtime, run.id, None, format).await?;
        print_silent_end(run, last, format);
    }
    if args.follow {
        follow_from_database(&runtime, id, details.runs.len(), last, format).await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Tails the session's latest run from the database until it settles (works whichever
/// process owns it). A run started meanwhile (a resume) is followed too.
async fn follow_from_database(
    runtime: &Runtime,
    id: SessionId,
    mut runs_seen: usize,
    mut last: Option<u64>,
    format: Format,
) -> anyhow::Result<()> {
    loop {
        let session = runtime.session(id).await?;
        let details = runtime.details(id).await?;
        if details.runs.len() > runs_seen {
            for (index, run) in details.runs.iter().enumerate().skip(runs_seen) {
                print_header(index + 1, run, format);
                last = print_stored(runtime, run.id, None, format).await?;
            }
            runs_seen = details.runs.len();
        } else if let Some(run) = details.runs.last() {
            last = print_stored(runtime, run.id, last, format).await?;
        }
        if !session.status.is_live() {
            // Settled: everything it wrote was stored before the status changed.
            if let Some(run) = details.runs.last() {
                let last = print_stored(runtime, run.id, last, format).await?;
                if matches!(format, Format::Text(_))
                    && !ends_with_result(runtime, run.id, last).await?
                {
                    // The agent never reported its end (its owner died): say how it ended.
                    anstream::println!("{}", settled_line(&session));
                }
            }
            return Ok(());
        }
        runtime.pause().await?;
    }
}

/// Whether the last entry of `run` (its seq is `last`) is the agent's result.
async fn ends_with_result(
    runtime: &Runtime,
    run: RunId,
    last: Option<u64>,
) -> anyhow::Result<bool> {
    let Some(last) = last else {
        return Ok(false);
    };
    let tail = runtime.transcript(run, last.checked_sub(1), 1).await?;
    Ok(tail
        .first()
        .is_some_and(|entry| matches!(entry.event, AgentEvent::Result { .. })))
}

/// The status a session settled in, and why, on one line.
fn settled_line(session: &Session) -> String {
    let mut text = session.status.as_str().to_owned();
    if let Some(error) = &session.last_error {
        text.push_str(" · ");
        text.push_str(&one_line(error, LINE_CHARS));
    }
    paint(style::status(session.status), &text)
}
