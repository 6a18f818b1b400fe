//! A foreground `lulu run` / `lulu resume`: the daemon starts and owns the run, this
//! process follows it and prints it until it settles. Ctrl-C (or SIGTERM) asks the daemon
//! to interrupt it; a second one asks it to stop the agent's process tree at once, and a
//! third stops following (a daemon that does not answer cannot hold the terminal). An
//! interrupt that is refused, times out or finds the run finished is reported at once. If
//! this process dies or its terminal closes (SIGHUP), the run goes on (`lulu logs -f`
//! re-attaches).

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::Instant;

use tokio::signal::unix::{signal, SignalKind};

use lulu_domain::{
    FailureKind, RunId, RunOutcome, Session, SessionId, SessionStatus, TranscriptEntry,
};
use lulu_runtime::client::DaemonClient;
use lulu_runtime::daemon::log::last_problem;
use lulu_runtime::protocol::{FollowEvent, Request};
use lulu_runtime::{InterruptOutcome, Runtime, RuntimeError};

use super::ask::Approvals;
use super::database::Database;
use super::follow::{print_stored, Format};
use super::Context;
use crate::args::OnApproval;
use crate::exit;
use crate::render::live::LiveView;
use crate::render::safe::{safe_line, safe_text};
use crate::render::style::{paint, ERROR, WARN};

/// How long a session waits queued before the user is told why nothing happens.
const QUEUED_NOTICE: std::time::Duration = std::time::Duration::from_millis(500);

/// An interrupt on its way, on a connection of its own.
type Interrupting<'a> = Pin<Box<dyn Future<Output = anyhow::Result<InterruptOutcome>> + 'a>>;

/// Has the daemon carry out `request` (start or resume), prints the session id, and
/// follows the run until it settles. Returns the exit code for its final status.
/// Without an open `runtime`, the database is opened while the daemon starts the run and
/// this process follows it: it is read only once the run has settled (or its daemon is
/// gone).
pub async fn start_and_follow(
    context: &Context,
    runtime: Option<&Runtime>,
    request: &Request,
    json: bool,
    on_approval: OnApproval,
) -> anyhow::Result<ExitCode> {
    let began = Instant::now();
    // Listening before the run is asked for: a Ctrl-C while it starts is not lost (it
    // waits in the stream and interrupts the run as soon as its id is known).
    let mut stop = StopSignals::new()?;
    let mut database = Database::opening(context, runtime);
    let (mut daemon, session) = start(context, request).await?;
    let id = session.id;
    super::advice::announce(&session, false, json);
    daemon.follow(id, None).await?;
    let mut live = LiveView::for_this_process(json);
    let format = Format::json_or_text(json);
    let mut run = session.active_run_id;
    let mut last_seq: Option<u64> = None;
    // The graceful interrupt the first signal asks for, and the forced one of the second.
    let mut graceful: Option<Interrupting<'_>> = None;
    let mut forced: Option<Interrupting<'_>> = None;
    let mut signals_seen = 0_u8;
    let mut approvals = Approvals::new(context, id, on_approval);
    // Said only if the session really waits for a slot, not for the instant it is queued.
    let mut queued_since: Option<tokio::time::Instant> = None;
    let settled = loop {
        tokio::select! {
            event = daemon.next_event() => match event? {
                Some(FollowEvent::Entries { entries }) => {
                    last_seq = show_fresh(&mut live, entries, run, last_seq);
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
                    approvals.saw(&session);
                    show_approvals(&mut approvals, &mut live);
                }
                Some(FollowEvent::LinesLost { lines, reason }) => live.lines_lost(lines, &reason),
                Some(FollowEvent::EndNotStored { status, reason }) => {
                    live.finish();
                    let runtime = database.get().await?;
                    return end_not_stored(runtime, run, last_seq, format, id, status, &reason).await;
                }
                Some(FollowEvent::Settled { session }) => break session,
                // The daemon is gone (killed): the next owner recovers the session.
                None => {
                    let runtime = database.get().await?;
                    runtime.recover().await?;
                    break runtime.session(id).await?;
                }
            },
            () = tokio::time::sleep_until(queued_since.unwrap_or_else(tokio::time::Instant::now) + QUEUED_NOTICE),
                if queued_since.is_some() => {
                live.note("queued: waiting for a free run slot (LULU_MAX_RUNNING)");
                queued_since = None;
            }
            () = approvals.finish_one(), if approvals.busy() => show_approvals(&mut approvals, &mut live),
            () = stop.next() => {
                signals_seen = signals_seen.saturating_add(1);
                if signals_seen > 2 {
                    // A third: stop following (the run goes on if it still can).
                    live.note(&format!("stopped following; `lulu logs -f {}` re-attaches", id.short()));
                    return Ok(ExitCode::from(exit::INTERRUPTED));
                }
                let force = signals_seen == 2;
                if force {
                    live.note("forcing: the agent's process tree is stopped now");
                } else {
                    live.note("interrupting… (the agent gets a graceful stop; Ctrl-C again to force)");
                }
                let asking: Interrupting<'_> = Box::pin(async move {
                    let mut daemon = context.daemon().await?;
                    Ok(daemon.interrupt(id, force).await?)
                });
                if force { forced = Some(asking) } else { graceful = Some(asking) }
            }
            outcome = async { graceful.as_mut().expect("guarded").await }, if graceful.is_some() => {
                graceful = None;
                // Once forced, the forced interrupt's answer is the one that counts.
                if forced.is_none() && signals_seen < 2 {
                    report_interrupt(outcome, false);
                }
            }
            outcome = async { forced.as_mut().expect("guarded").await }, if forced.is_some() => {
                forced = None;
                report_interrupt(outcome, true);
            }
        }
    };
    live.finish();
    let runtime = database.get().await?;
    conclude(
        context, runtime, &live, run, last_seq, format, &settled, began,
    )
    .await
}

/// Shows the entries of the active `run` after `last_seq`; the new last seq.
fn show_fresh(
    live: &mut LiveView,
    entries: Vec<TranscriptEntry>,
    run: Option<RunId>,
    last_seq: Option<u64>,
) -> Option<u64> {
    let fresh: Vec<_> = entries
        .into_iter()
        .filter(|entry| Some(entry.run_id) == run && last_seq.is_none_or(|last| entry.seq > last))
        .collect();
    live.entries(&fresh).or(last_seq)
}

/// Says what the approvals have to say, and takes the status line down while the user is
/// asked on the terminal.
fn show_approvals(approvals: &mut Approvals<'_>, live: &mut LiveView) {
    for note in approvals.take_notes() {
        live.say(&note);
    }
    live.hold(approvals.asking_on_terminal());
}

/// Asks the daemon (started if none answers) to carry out `request`: its connection and
/// the session it answers with.
async fn start(context: &Context, request: &Request) -> anyhow::Result<(DaemonClient, Session)> {
    let mut daemon = context.daemon().await?;
    let session = daemon.session(request).await?;
    Ok((daemon, session))
}

/// The agent is gone but its end cannot be stored (a full disk): say so and end, rather
/// than wait for a change that cannot be saved.
async fn end_not_stored(
    runtime: &Runtime,
    run: Option<RunId>,
    last_seq: Option<u64>,
    format: Format,
    id: SessionId,
    status: SessionStatus,
    reason: &str,
) -> anyhow::Result<ExitCode> {
    if let Some(run) = run {
        let _ = print_stored(runtime, run, last_seq, format).await;
    }
    anstream::eprintln!(
        "{} session {} ended {status}, but Lulu could not store that: {reason}. \
         Lulu records it once there is space.",
        paint(ERROR, "lulu: error:"),
        id.short(),
        reason = safe_line(reason),
    );
    Ok(ExitCode::from(exit::FAILED))
}

/// Prints what the follow stream had not delivered, the result line, and what to do next.
#[allow(clippy::too_many_arguments)]
async fn conclude(
    context: &Context,
    runtime: &Runtime,
    live: &LiveView,
    run: Option<RunId>,
    mut last_seq: Option<u64>,
    format: Format,
    settled: &Session,
    began: Instant,
) -> anyhow::Result<ExitCode> {
    if let Some(run) = run {
        last_seq = print_stored(runtime, run, last_seq, format).await?;
    }
    live.settled(settled, elapsed_ms(began));
    if let Some(run) = run {
        super::advice::explain_denials(runtime, run, last_seq).await;
    }
    explain_failure(context, runtime, settled).await;
    if !live.told_lost_lines() {
        explain_lost_lines(context, settled);
    }
    super::advice::next_steps(settled);
    // The daemon stopped the run because its database file went away: say so.
    if let Some(lost) = runtime.check_database_file() {
        return Err(lost.into());
    }
    Ok(exit::for_settled(settled.status))
}

fn elapsed_ms(began: Instant) -> u64 {
    u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Says why transcript lines were lost, as the daemon logged it (a full disk, say), for
/// a run whose losses the follow stream did not tell (a daemon restarted meanwhile).
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

/// Says at once what an interrupt came to, unless it did what was asked (the settled
/// session then says it); reported now, not when the run settles.
fn report_interrupt(outcome: anyhow::Result<InterruptOutcome>, force: bool) {
    let what = if force {
        "the forced interrupt"
    } else {
        "the interrupt"
    };
    let code = |error: &anyhow::Error| {
        error
            .downcast_ref::<RuntimeError>()
            .map(|error| error.code().to_owned())
    };
    match outcome {
        Ok(InterruptOutcome::Interrupted { .. }) => {}
        Ok(InterruptOutcome::FinishedFirst { session }) => anstream::eprintln!(
            "{} the run {} before {what} took effect",
            paint(WARN, "lulu:"),
            session.status
        ),
        // Asked as the run ended by itself: its settled value follows.
        Err(error) if code(&error).as_deref() == Some("not_running") => anstream::eprintln!(
            "{} the run had ended before {what} reached it",
            paint(WARN, "lulu:")
        ),
        Err(error) if !force && code(&error).as_deref() == Some("interrupt_timed_out") => {
            anstream::eprintln!(
                "{} {}; Ctrl-C again to stop it forcefully",
                paint(ERROR, "lulu: error:"),
                safe_line(&error.to_string())
            );
        }
        Err(error) => anstream::eprintln!(
            "{} {what} failed: {}",
            paint(ERROR, "lulu: error:"),
            safe_text(&format!("{error:#}"))
        ),
    }
}

/// Ctrl-C and SIGTERM, each one an ask to stop. SIGHUP (the terminal closed) is left
/// to its default: this client ends, the run goes on.
struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// The next Ctrl-C or SIGTERM.
    async fn next(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}
