//! `lulu run` and `lulu resume`: in the foreground (stream until the run settles, Ctrl-C
//! interrupts) or detached (the daemon owns the run; print the id and return).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::broadcast::error::RecvError;

use lulu_domain::ports::SessionUpdate;
use lulu_domain::{
    AgentOptions, FailureKind, Prompt, RunOutcome, Session, SessionSpec, SessionStatus,
    SessionTitle, WorkingDir,
};
use lulu_runtime::protocol::{Request, Response};
use lulu_runtime::{Runtime, RuntimeError};

use super::follow::{print_entries, print_stored, Format};
use super::Context;
use crate::args::{AgentArgs, ResumeArgs, RunArgs};
use crate::exit;
use crate::render::safe::{safe_line, safe_text};
use crate::render::style::{paint, DIM, ERROR, WARN};
use crate::render::transcript::final_line;

/// `lulu run`. Everything the user typed is checked first (exit 2, nothing stored).
pub async fn run(context: &Context, args: RunArgs) -> anyhow::Result<ExitCode> {
    let spec = session_spec(&args)?;
    check_launch(context, &spec.cwd)?;
    if args.detach {
        return detached(context, &start_request(spec)).await;
    }
    let runtime = context.open().await?;
    runtime.serve().await?;
    let updates = runtime.subscribe();
    let started = runtime.start(spec).await;
    follow_new_run(&runtime, updates, started).await
}

/// `lulu resume`. The prompt, the id and whether the session's directory and the agent
/// binary can be used are checked before a run is added to its history.
pub async fn resume(context: &Context, args: ResumeArgs) -> anyhow::Result<ExitCode> {
    let prompt = Prompt::parse(args.prompt.join(" "))?;
    let runtime = context.open().await?;
    let id = runtime.resolve(&args.id).await?;
    check_launch(context, &runtime.session(id).await?.cwd)?;
    if args.detach {
        let request = Request::Resume {
            id,
            prompt: prompt.into(),
        };
        return detached(context, &request).await;
    }
    runtime.serve().await?;
    let updates = runtime.subscribe();
    let started = runtime.resume(id, prompt).await;
    follow_new_run(&runtime, updates, started).await
}

/// Refuses, as a usage error, a run that could not start: the directory or the agent
/// binary cannot be used.
fn check_launch(context: &Context, cwd: &WorkingDir) -> anyhow::Result<()> {
    lulu_runtime::preflight::check_launch(&context.config.claude_bin, Path::new(cwd.as_str()))?;
    Ok(())
}

/// Prints the id of a run this process just started (or resumed) and streams it; if it
/// could not be started, stops serving and reports why.
async fn follow_new_run(
    runtime: &Arc<Runtime>,
    mut updates: tokio::sync::broadcast::Receiver<SessionUpdate>,
    started: Result<Session, RuntimeError>,
) -> anyhow::Result<ExitCode> {
    let session = match started {
        Ok(session) => session,
        Err(error) => {
            runtime.shutdown().await;
            return Err(error.into());
        }
    };
    println!("{}", session.id);
    foreground(runtime, &mut updates, session).await
}

/// Has the daemon start (or resume) the session, prints its id and returns.
async fn detached(context: &Context, request: &Request) -> anyhow::Result<ExitCode> {
    match context.ask_daemon(request).await? {
        Response::Session { session } => {
            println!("{}", session.id);
            Ok(ExitCode::SUCCESS)
        }
        other => anyhow::bail!("the daemon answered something unexpected: {other:?}"),
    }
}

/// The session `lulu run` asks for, every part of it checked.
fn session_spec(args: &RunArgs) -> anyhow::Result<SessionSpec> {
    let cwd = match &args.cwd {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let cwd = std::path::absolute(&cwd)
        .with_context(|| format!("cannot make {} absolute", cwd.display()))?;
    let cwd = cwd
        .to_str()
        .with_context(|| format!("the directory {} is not valid UTF-8", cwd.display()))?
        .to_owned();
    spec(
        args.title.as_deref(),
        cwd,
        args.prompt.join(" "),
        agent_options(&args.agent)?,
    )
}

/// What the daemon is asked to start for `spec`.
fn start_request(spec: SessionSpec) -> Request {
    Request::Start {
        title: spec.title.map(String::from),
        cwd: spec.cwd.into(),
        prompt: spec.prompt.into(),
        options: spec.options,
    }
}

fn agent_options(args: &AgentArgs) -> anyhow::Result<AgentOptions> {
    let add_dirs = args
        .add_dirs
        .iter()
        .map(|dir| {
            dir.to_str()
                .map(str::to_owned)
                .with_context(|| format!("the directory {} is not valid UTF-8", dir.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let options = AgentOptions {
        model: args.model.clone(),
        permission_mode: args.permission_mode.clone(),
        allowed_tools: args.allowed_tools.clone(),
        disallowed_tools: args.disallowed_tools.clone(),
        max_turns: args.max_turns,
        append_system_prompt: args.append_system_prompt.clone(),
        add_dirs,
        extra_args: Vec::new(),
    };
    Ok(options.validate()?)
}

fn spec(
    title: Option<&str>,
    cwd: String,
    prompt: String,
    options: AgentOptions,
) -> anyhow::Result<SessionSpec> {
    Ok(SessionSpec {
        title: title.map(SessionTitle::parse).transpose()?,
        cwd: WorkingDir::parse(cwd)?,
        prompt: Prompt::parse(prompt)?,
        options,
    })
}

/// How long a session waits queued before the user is told why nothing happens.
const QUEUED_NOTICE: std::time::Duration = std::time::Duration::from_millis(500);

/// Streams a session this process owns until it settles; Ctrl-C (or SIGTERM/SIGHUP)
/// interrupts it through the supervisor. Returns the exit code for its final status.
async fn foreground(
    runtime: &Arc<Runtime>,
    updates: &mut tokio::sync::broadcast::Receiver<SessionUpdate>,
    session: Session,
) -> anyhow::Result<ExitCode> {
    let began = Instant::now();
    let id = session.id;
    let mut run = session.active_run_id;
    let mut last_seq: Option<u64> = None;
    let mut interrupt: Option<tokio::task::JoinHandle<Result<Session, RuntimeError>>> = None;
    // Said only if the session really waits for a slot, not for the instant it is queued.
    let mut queued_since: Option<tokio::time::Instant> = None;
    let stop = termination();
    tokio::pin!(stop);
    let settled = loop {
        tokio::select! {
            update = updates.recv() => match update {
                Ok(SessionUpdate::Transcript { session_id, entries }) if session_id == id => {
                    let fresh: Vec<_> = entries
                        .into_iter()
                        .filter(|entry| Some(entry.run_id) == run && last_seq.is_none_or(|last| entry.seq > last))
                        .collect();
                    last_seq = print_entries(&fresh, Format::Text).or(last_seq);
                }
                Ok(SessionUpdate::EndNotStored { session_id, status, reason }) if session_id == id => {
                    // The agent is gone but its end cannot be stored (a full disk): say so
                    // and end, rather than wait for a change that cannot be saved.
                    if let Some(run) = run {
                        let _ = print_stored(runtime, run, last_seq, Format::Text).await;
                    }
                    anstream::eprintln!(
                        "{} session {} ended {status}, but Lulu could not store that: {reason}. \
                         Once there is space, any lulu command records it as interrupted.",
                        paint(ERROR, "lulu: error:"),
                        id.short(),
                        reason = safe_line(&reason),
                    );
                    runtime.shutdown().await;
                    return Ok(ExitCode::from(exit::FAILED));
                }
                Ok(SessionUpdate::Session(session)) if session.id == id => {
                    run = session.active_run_id;
                    queued_since = (session.status == SessionStatus::Queued)
                        .then(|| queued_since.unwrap_or_else(tokio::time::Instant::now));
                    if !session.status.is_live() {
                        break session;
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    if let Some(run) = run {
                        last_seq = print_stored(runtime, run, last_seq, Format::Text).await?;
                    }
                }
                Err(RecvError::Closed) => break runtime.session(id).await?,
            },
            () = tokio::time::sleep_until(queued_since.unwrap_or_else(tokio::time::Instant::now) + QUEUED_NOTICE),
                if queued_since.is_some() => {
                eprintln_dim("queued: waiting for a free run slot (LULU_MAX_RUNNING)");
                queued_since = None;
            }
            () = &mut stop, if interrupt.is_none() => {
                eprintln_dim("interrupting… (the agent gets a graceful stop, then a forceful one)");
                let runtime = Arc::clone(runtime);
                interrupt = Some(tokio::spawn(async move { runtime.interrupt(id).await }));
            }
        }
    };
    if let Some(run) = run {
        print_stored(runtime, run, last_seq, Format::Text).await?;
    }
    if let Some(task) = interrupt {
        if let Ok(Err(error)) = task.await {
            anstream::eprintln!("lulu: {}", safe_text(&error.to_string()));
        }
    }
    anstream::println!("{}", final_line(&settled, elapsed_ms(began)));
    explain_failure(runtime, &settled).await;
    runtime.shutdown().await;
    if let Some(lost) = runtime.database_lost() {
        return Err(lost.into());
    }
    Ok(exit::for_settled(settled.status))
}

fn elapsed_ms(began: Instant) -> u64 {
    u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn eprintln_dim(text: &str) {
    anstream::eprintln!("{}", paint(DIM, text));
}

/// Says what to do about failures a user can act on.
async fn explain_failure(runtime: &Runtime, session: &Session) {
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
        FailureKind::LaunchFailed => {
            "check --claude-bin / LULU_CLAUDE_BIN and the session's directory".to_owned()
        }
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
