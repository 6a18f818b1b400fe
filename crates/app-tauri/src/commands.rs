//! The Tauri commands: thin. Each parses and checks its input (nothing is stored when
//! any of it is wrong), calls the runtime (reads straight from the database, lifecycle
//! operations through the daemon) and maps errors to `{code, message, field}`.

use std::str::FromStr as _;
use std::sync::Arc;

use tauri::ipc::Channel;
use tauri::State;

use lulu_domain::ports::{SessionFilter, SessionQuery};
use lulu_domain::{Prompt, Session, SessionId, SessionStatus};
use lulu_runtime::protocol::{Request, Response};
use lulu_runtime::InterruptOutcome;

use crate::error::CommandError;
use crate::input::{check_launch, start_request};
use crate::state::AppState;
use crate::views::{
    FollowMessage, SessionDetailsView, SettingsView, StartInput, StopAllOutcome, StopFailure,
    TranscriptPage, WatchMessage,
};

/// The managed state, as commands receive it.
type AppStateArg<'a> = State<'a, Arc<AppState>>;

/// The most transcript entries one page may hold.
pub const MAX_PAGE: usize = 2000;
/// The page size when none is asked for.
pub const DEFAULT_PAGE: usize = 200;
/// Sessions, newest first; `status` filters (a status word), `limit` caps the count.
#[tauri::command]
pub async fn list_sessions(
    state: AppStateArg<'_>,
    status: Option<String>,
    limit: Option<usize>,
) -> Result<Vec<Session>, CommandError> {
    let status = status
        .filter(|text| !text.trim().is_empty())
        .map(|text| {
            SessionStatus::from_str(&text).map_err(|_| {
                CommandError::input(
                    "status",
                    "bad_option",
                    format!(
                        "`{text}` is not a session status: use one of {}",
                        SessionStatus::ALL.map(SessionStatus::as_str).join(", ")
                    ),
                )
            })
        })
        .transpose()?;
    if limit == Some(0) {
        return Err(CommandError::input(
            "limit",
            "bad_option",
            "the limit must be at least 1",
        ));
    }
    let runtime = state.runtime().await?;
    Ok(runtime
        .list(&SessionQuery {
            filter: SessionFilter::status(status),
            limit,
            after: None,
        })
        .await?)
}

/// One session (a full id or a unique prefix) with its run history.
#[tauri::command]
pub async fn get_session(
    state: AppStateArg<'_>,
    id: String,
) -> Result<SessionDetailsView, CommandError> {
    let id = resolve(&state, &id).await?;
    let details = state
        .runtime()
        .await?
        .details(id)
        .await
        .map_err(unknown_as(id))?;
    Ok(SessionDetailsView {
        session: details.session,
        runs: details.runs,
    })
}

/// A page of a session's transcript: entries of `run` (its latest run when left out)
/// after `after`, at most `limit` (default [`DEFAULT_PAGE`], at most [`MAX_PAGE`]).
#[tauri::command]
pub async fn get_transcript(
    state: AppStateArg<'_>,
    id: String,
    run: Option<String>,
    after: Option<u64>,
    limit: Option<usize>,
) -> Result<TranscriptPage, CommandError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(CommandError::input(
            "limit",
            "bad_option",
            format!("a page holds 1 to {MAX_PAGE} entries, not {limit}"),
        ));
    }
    let id = resolve(&state, &id).await?;
    let runtime = state.runtime().await?;
    let details = runtime.details(id).await.map_err(unknown_as(id))?;
    let chosen = match run {
        Some(text) => details
            .runs
            .iter()
            .find(|candidate| candidate.id.to_string() == text.trim())
            .ok_or_else(|| {
                CommandError::input(
                    "run",
                    "unknown_run",
                    format!("session {} has no run `{text}`", id.short()),
                )
            })?,
        None => match details.runs.last() {
            Some(run) => run,
            None => {
                return Err(CommandError::input(
                    "run",
                    "no_run",
                    format!("session {} has no run yet", id.short()),
                ))
            }
        },
    };
    let entries = runtime.transcript(chosen.id, after, limit).await?;
    let last_seq = runtime.last_seq(chosen.id).await?;
    Ok(TranscriptPage {
        run_id: chosen.id,
        entries,
        last_seq,
    })
}

/// Starts a session from the new-session form, owned by the daemon.
#[tauri::command]
pub async fn start_session(
    state: AppStateArg<'_>,
    input: StartInput,
) -> Result<Session, CommandError> {
    let request = start_request(&state, input)?;
    session_of(state.ask_daemon(&request).await?)
}

/// Interrupts a live session and waits for the outcome (the session as it ended).
#[tauri::command]
pub async fn interrupt_session(
    state: AppStateArg<'_>,
    id: String,
) -> Result<Session, CommandError> {
    let id = existing(&state, &id).await?.id;
    interrupted(
        state
            .ask_daemon(&Request::Interrupt { id, force: false })
            .await?,
    )
}

/// Continues a settled session with a follow-up prompt: same session, one more run. The
/// options given (all optional; `permission_mode` and `allowed_tools` named as in the
/// new-session input) replace the session's for this run only.
#[tauri::command(rename_all = "snake_case")]
pub async fn resume_session(
    state: AppStateArg<'_>,
    id: String,
    prompt: String,
    model: Option<String>,
    permission_mode: Option<String>,
    allowed_tools: Option<Vec<String>>,
) -> Result<Session, CommandError> {
    let options = crate::input::resume_overrides(model, permission_mode, allowed_tools)?;
    let prompt = Prompt::parse(prompt)?;
    let session = existing(&state, &id).await?;
    check_launch(&state, session.cwd.as_str())?;
    let request = Request::Resume {
        id: session.id,
        prompt: prompt.into(),
        options,
    };
    session_of(state.ask_daemon(&request).await?)
}

/// Deletes a session; a live one only with `force` (it is interrupted first).
#[tauri::command]
pub async fn delete_session(
    state: AppStateArg<'_>,
    id: String,
    force: Option<bool>,
) -> Result<(), CommandError> {
    let session = existing(&state, &id).await?;
    let force = force.unwrap_or(false);
    if session.status.is_live() && !force {
        return Err(CommandError {
            code: "still_live".to_owned(),
            message: format!(
                "session {} is {}: interrupt it first, or delete it anyway (it is interrupted first)",
                session.id.short(),
                session.status
            ),
            field: None,
        });
    }
    match state
        .ask_daemon(&Request::Delete {
            id: session.id,
            force,
        })
        .await?
    {
        Response::Deleted => Ok(()),
        other => Err(unexpected(&other)),
    }
}

/// Interrupts every live session (all at once); they stay resumable.
#[tauri::command]
pub async fn stop_all_sessions(state: AppStateArg<'_>) -> Result<StopAllOutcome, CommandError> {
    let runtime = state.runtime().await?;
    let live: Vec<SessionId> = runtime
        .list(&SessionQuery::default())
        .await?
        .into_iter()
        .filter(|session| session.status.is_live())
        .map(|session| session.id)
        .collect();
    let asks = live.iter().map(|id| {
        let state = Arc::clone(state.inner());
        let id = *id;
        async move {
            (
                id,
                state
                    .ask_daemon(&Request::Interrupt { id, force: false })
                    .await,
            )
        }
    });
    let mut outcome = StopAllOutcome {
        interrupted: Vec::new(),
        failed: Vec::new(),
    };
    for (id, answer) in futures::future::join_all(asks).await {
        match answer {
            Ok(_) => outcome.interrupted.push(id),
            Err(error) => outcome.failed.push(StopFailure {
                id,
                message: error.to_string(),
            }),
        }
    }
    Ok(outcome)
}

/// The settings in force, the daemon's whereabouts and the recent working directories.
#[tauri::command]
pub async fn get_settings(state: AppStateArg<'_>) -> Result<SettingsView, CommandError> {
    let runtime = state.runtime().await?;
    let recent = runtime
        .list(&SessionQuery {
            limit: Some(200),
            ..SessionQuery::default()
        })
        .await?;
    let mut recent_dirs: Vec<String> = Vec::new();
    for session in recent {
        let dir = session.cwd.as_str();
        if recent_dirs.len() < 8 && !recent_dirs.iter().any(|seen| seen == dir) {
            recent_dirs.push(dir.to_owned());
        }
    }
    let daemon_pid = match state.running_daemon().await {
        Ok(Some(mut daemon)) => daemon.status().await.ok().map(|status| status.pid),
        _ => None,
    };
    let config = state.config();
    Ok(SettingsView {
        db_path: config.db_path.display().to_string(),
        claude_bin: config.claude_bin.display().to_string(),
        max_running: config.max_running,
        daemon_socket: state.paths().socket.display().to_string(),
        daemon_log: state.paths().log.display().to_string(),
        daemon_pid,
        recent_dirs,
        home: std::env::var("HOME").ok().filter(|home| !home.is_empty()),
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    })
}

/// Streams every change the daemon makes into `channel` (replacing an earlier watch).
#[tauri::command]
#[allow(clippy::needless_pass_by_value)] // Tauri hands commands their state by value
pub fn watch_sessions(state: AppStateArg<'_>, channel: Channel<WatchMessage>) {
    state.streams.watch(Arc::clone(state.inner()), channel);
}

/// Follows session `id` (entries of its active run after `after`) into `channel`;
/// returns the stream's number for [`unfollow_session`].
#[tauri::command]
pub async fn follow_session(
    state: AppStateArg<'_>,
    id: String,
    after: Option<u64>,
    channel: Channel<FollowMessage>,
) -> Result<u32, CommandError> {
    let id = existing(&state, &id).await?.id;
    Ok(state
        .streams
        .follow(Arc::clone(state.inner()), id, after, channel))
}

/// Stops a follow stream; false when it had already ended.
#[tauri::command]
#[allow(clippy::needless_pass_by_value)] // Tauri hands commands their state by value
pub fn unfollow_session(state: AppStateArg<'_>, stream: u32) -> bool {
    state.streams.unfollow(stream)
}

/// The session a full id or a unique prefix names.
async fn resolve(state: &AppState, text: &str) -> Result<SessionId, CommandError> {
    if text.trim().is_empty() {
        return Err(CommandError::input(
            "id",
            "invalid_input",
            "no session id was given",
        ));
    }
    let runtime = state.runtime().await?;
    Ok(runtime.resolve(text).await?)
}

/// The session `text` names, which must exist.
pub(crate) async fn existing(state: &AppState, text: &str) -> Result<Session, CommandError> {
    let id = resolve(state, text).await?;
    state
        .runtime()
        .await?
        .session(id)
        .await
        .map_err(unknown_as(id))
}

/// Maps "not found" to an `unknown_id` error naming `id`.
fn unknown_as(id: SessionId) -> impl Fn(lulu_runtime::RuntimeError) -> CommandError {
    move |error| {
        if error.code() == "not_found" {
            CommandError::input(
                "id",
                "unknown_id",
                format!("no session has the id {id}: it may have been deleted"),
            )
        } else {
            error.into()
        }
    }
}

/// The session a daemon's answer carries.
pub(crate) fn session_of(response: Response) -> Result<Session, CommandError> {
    match response {
        Response::Session { session } => Ok(session),
        other => Err(unexpected(&other)),
    }
}

/// The session an interrupt left, whether it stopped the run or the run finished first.
fn interrupted(response: Response) -> Result<Session, CommandError> {
    match response {
        Response::InterruptOutcome(
            InterruptOutcome::Interrupted { session } | InterruptOutcome::FinishedFirst { session },
        ) => Ok(session),
        other => Err(unexpected(&other)),
    }
}

fn unexpected(response: &Response) -> CommandError {
    CommandError {
        code: "daemon".to_owned(),
        message: format!("the Lulu daemon answered something unexpected: {response:?}"),
        field: None,
    }
}
