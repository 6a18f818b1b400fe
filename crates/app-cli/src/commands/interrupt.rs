//! `lulu interrupt`.

use std::process::ExitCode;
use std::time::Instant;

use serde::Serialize;

use lulu_domain::InterruptMode;
use lulu_runtime::{InterruptOutcome, RuntimeError};

use super::database::{is_prefix, Database};
use super::Context;
use crate::args::InterruptArgs;
use crate::exit;
use crate::render::json::SessionJson;
use crate::render::safe::safe_line;
use crate::spinner::Spinner;

/// What `lulu interrupt --json` prints: the outcome word with the session's keys.
#[derive(Serialize)]
struct OutcomeJson {
    /// `interrupted` or `finished_first`.
    outcome: &'static str,
    #[serde(flatten)]
    session: SessionJson,
}

/// What `lulu interrupt --json` prints for an interrupt that timed out.
#[derive(Serialize)]
struct TimedOutJson<'a> {
    outcome: &'static str,
    id: String,
    code: &'a str,
    message: String,
}

/// `lulu interrupt`: exit 0 once interrupted; 1 with a message when the run finished
/// first, the interrupt timed out, or it could not be carried out.
pub async fn interrupt(context: &Context, args: &InterruptArgs) -> anyhow::Result<ExitCode> {
    // A whole id goes to the daemon as it is: the database is opened only to look up a
    // prefix (while the daemon is reached) or when no daemon answers.
    let mut database = Database::when_needed(context);
    database.start_if(is_prefix(&args.id));
    let daemon = context.answering_daemon().await;
    let id = database.resolve(&args.id).await?;
    let began = Instant::now();
    let spinner = Spinner::start(format!("interrupting {}…", id.short()));
    let mode = if args.force {
        InterruptMode::Immediate
    } else {
        InterruptMode::Graceful
    };
    // The daemon, if one runs, carries it out (asking another owner itself if need be).
    let result = match daemon? {
        Some(mut daemon) => daemon.interrupt(id, args.force).await,
        None => database.get().await?.interrupt(id, mode).await,
    };
    spinner.finish();
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(error) if args.json && error.code() == "interrupt_timed_out" => {
            return timed_out_as_json(&id.to_string(), &error);
        }
        Err(error) => return Err(error.into()),
    };
    if args.json {
        super::inspect::print_json(&OutcomeJson {
            outcome: outcome_word(&outcome),
            session: SessionJson::of(outcome.session()),
        })?;
    }
    match outcome {
        InterruptOutcome::Interrupted { .. } => {
            if !args.json {
                anstream::println!(
                    "interrupted {} in {:.1} s",
                    id.short(),
                    began.elapsed().as_secs_f64()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        InterruptOutcome::FinishedFirst { session } => {
            anstream::eprintln!(
                "lulu: session {} {} before the interrupt took effect",
                id.short(),
                session.status
            );
            Ok(ExitCode::from(exit::FAILED))
        }
    }
}

/// The word `--json` gives an outcome.
fn outcome_word(outcome: &InterruptOutcome) -> &'static str {
    match outcome {
        InterruptOutcome::Interrupted { .. } => "interrupted",
        InterruptOutcome::FinishedFirst { .. } => "finished_first",
    }
}

/// Prints a timed-out interrupt as JSON (and its message on stderr); exit 1.
fn timed_out_as_json(id: &str, error: &RuntimeError) -> anyhow::Result<ExitCode> {
    let message = error.to_string();
    super::inspect::print_json(&TimedOutJson {
        outcome: "timed_out",
        id: id.to_owned(),
        code: error.code(),
        message: message.clone(),
    })?;
    anstream::eprintln!("lulu: error: {}", safe_line(&message));
    Ok(ExitCode::from(exit::FAILED))
}
