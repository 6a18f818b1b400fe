//! A foreground `lulu run` / `lulu resume`: the daemon starts and owns the run, this
//! process follows it and prints it until it settles. Ctrl-C (or SIGTERM / SIGHUP) asks
//! the daemon to interrupt it; a refused or failed interrupt is reported at once. If this
//! process dies, the run goes on (`lulu logs -f` re-attaches).

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::Instant;

use tokio::signal::unix::{signal, SignalKind};

use lulu_domain::{FailureKind, RunOutcome, Session, SessionStatus};
use lulu_runtime::daemon::log::last_problem;
use lulu_runtime::protocol::{FollowEvent, Request};
use lulu_runtime::Runtime;

use super::follow::{print_stored, Format};
use super::Context;
use crate::exit;
use crate::render::live::LiveView;
use crate::render::safe::{safe_line, safe_text};
use crate::render::style::{paint, ERROR, WARN};

/// How long a session waits queued before the user is told why nothing happens.
const QUEUED_NOTICE: std::time::Duration = std::time::Duration::from_millis(500);

/// An interrupt on its way, on a connection of its own.
type Interrupting<'a> = Pin<Box<dyn Future<Output = anyhow::Result<Session>> + 'a>>;

/// Has the daemon carry out `request` (start or resume), prints the session id, and
/// follows the run until it settles. Returns the exit code for its final status.
pub async fn start_and_follow(
    context: &Context,
    runtime: &Runtime,
    request: &Request,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let began = Instant::now();
    let mut daemon = context.daemon().await?;
    let session = daemon.session(request).await?;
    let id = session.id;
    super::advice::announce(&session, false, json);
    daemon.follow(id, None).await?;
    let mut live = LiveView::for_this_process(json);
    let format = Format::json_or_text(json);
    let mut run = session.active_run_id;
    let mut last_seq: Option<u64> = None;
    let mut interrupt: Option<Interrupting<'_>> = None;
    let mut asked = false;
    // Said only if the session really waits for a slot, not for the instant it is queued.
    let mut queued_since: Option<tokio::time::Instant> = None;
    let stop = termination();
    tokio::pin!(stop);
    let settled = loop {
        tokio::select! {
            event = daemon.next_event() => match event? {
                Some(FollowEvent::Entries { entries }) => {
                    let fresh: Vec<_> = entries
                        .into_iter()
                        .filter(|entry| Some(entry.run_id) == run && last_seq.is_none_or(|last| entry.seq > last))
                        .collect();
                    last_seq = live.entries(&fresh).or(last_seq);
                }
                Some(FollowEvent::TextDelta { run_id, text, .. }) => {
                    if Some(run_id) == run {
                        live.text_delta(&text);
                    }
                }
                Some(FollowEvent::Session { session }) => {
                    live.cost(session.totals.cost_usd);
                    if session.active_run_id != run {
                        run = session.active_run_id;
                        last_seq = None;
                    }
                    queued_since = (session.status == SessionStatus::Queued)
                        .then(|| queued_since.unwrap_or_else(tokio::time::Instant::now));
                }
                Some(FollowEvent::EndNotStored { status, reason }) => {
                    // The agent is gone but its end cannot be stored (a full disk): say so
                    // and end, rather than wait for a change that cannot be saved.
                    live.finish();
                    if let Some(run) = run {
                        let _ = print_stored(runtime, run, last_seq, format).await;
                    }
                    anstream::eprintln!(
                        "{} session {} ended {status}, but Lulu could not store that: {reason}. \
                         Lulu records it once there is space.",
                        paint(ERROR, "lulu: error:"),
                        id.short(),
                        reason = safe_line(&reason),
                    );
                    return Ok(ExitCode::from(exit::FAILED));
                }
                Some(FollowEvent::Settled { session }) => break session,
                // The daemon is gone (killed): the next owner recovers the session.
                None => {
                    runtime.recover().await?;
                    break runtime.session(id).await?;
                }
            },
            () = tokio::time::sleep_until(queued_since.unwrap_or_else(tokio::time::Instant::now) + QUEUED_NOTICE),
                if queued_since.is_some() => {
                live.note("queued: waiting for a free run slot (LULU_MAX_RUNNING)");
                queued_since = None;
            }
            () = &mut stop, if !asked => {
                asked = true;
                live.note("interrupting… (the agent gets a graceful stop, then a forceful one)");
                interrupt = Some(Box::pin(async move {
                    let mut daemon = context.daemon().await?;
                    Ok(daemon.session(&Request::Interrupt { id }).await?)
                }));
            }
            outcome = async { interrupt.as_mut().expect("guarded").await }, if interrupt.is_some() => {
                interrupt = None;
                // Reported now, not when the run settles.
                if let Err(error) = outcome {
                    anstream::eprintln!("lulu: the interrupt failed: {}", safe_text(&format!("{error:#}")));
                }
            }
        }
    };
    live.finish();
    if let Some(run) = run {
        last_seq = print_stored(runtime, run, last_seq, format).await?;
    }
    live.settled(&settled, elapsed_ms(began));
    if let Some(run) = run {
        super::advice::explain_denials(runtime, run, last_seq).await;
    }
    explain_failure(context, runtime, &settled).await;
    explain_lost_lines(context, &settled);
    super::advice::next_steps(&settled);
    // The daemon stopped the run because its database file went away: say so.
    if let Some(lost) = runtime.check_database_file() {
        return Err(lost.into());
    }
    Ok(exit::for_settled(settled.status))
}

fn elapsed_ms(began: Instant) -> u64 {
    u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Says why transcript lines were lost, as the daemon logged it (a full disk, say).
fn explain_lost_lines(context: &Context, session: &Session) {
    if session.lost_events == 0 {
        return;
    }
    let log = context.paths().log;
    if let Some(problem) = last_problem(&log, &session.id.to_string()) {
        anstream::eprintln!(
            "{} {}",
            paint(WARN, "lulu: the daemon logged:"),
            safe_line(&problem)
        );
    }
}

/// Says what to do about failures a user can act on.
async fn explain_failure(context: &Context, runtime: &Runtime, session: &Session) {
    if session.status != SessionStatus::Failed {
        return;
    }
    let Ok(details) = runtime.details(session.id).await else {
        return;
    };
    let Some(RunOutcome::Failed { kind, .. }) =
        details.runs.last().and_then(|run| run.outcome.clone())
    else {
        return;
    };
    let hint = match kind {
        FailureKind::ConversationNotFound => {
            let cwd = safe_line(session.cwd.as_str());
            format!(
                "Claude Code has no conversation {} for {cwd}: its transcript was deleted, or it was made in another directory. \
                 The session's history is kept; start over with `lulu run --cwd {cwd} PROMPT`.",
                session.id
            )
        }
        FailureKind::LaunchFailed => super::advice::launch_hint(context, session).await,
        FailureKind::SessionIdInUse
        | FailureKind::InvalidArguments
        | FailureKind::ApiError
        | FailureKind::Crashed => return,
    };
    anstream::eprintln!("{}", paint(WARN, &hint));
}

/// Resolves on the first Ctrl-C, SIGTERM or SIGHUP.
async fn termination() {
    let (Ok(mut terminate), Ok(mut hangup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
        _ = hangup.recv() => {}
    }
}
