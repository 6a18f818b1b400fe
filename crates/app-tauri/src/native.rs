//! What the desktop gives the app: the native folder picker and notifications when a
//! session settles or starts waiting for an approval while the window is not focused.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tauri::{AppHandle, Manager as _, Runtime};
use tauri_plugin_dialog::DialogExt as _;
use tauri_plugin_notification::NotificationExt as _;

use lulu_domain::{ApprovalRequest, Session, SessionStatus};

use crate::state::AppState;
use crate::views::WatchMessage;

/// How long after a notification coming back to the window opens its session.
const OPEN_AFTER_NOTICE: Duration = Duration::from_secs(120);

/// Asks the user for a directory with the native picker; `None` if they cancelled.
#[tauri::command]
pub async fn pick_directory<R: Runtime>(app: AppHandle<R>) -> Option<String> {
    let (answer, chosen) = tokio::sync::oneshot::channel();
    app.dialog().file().pick_folder(move |folder| {
        let _ = answer.send(folder);
    });
    let folder = chosen.await.ok().flatten()?;
    folder
        .into_path()
        .ok()
        .map(|path| path.display().to_string())
}

/// Tells the user, while the window is not focused, that `session` settled or needs
/// approval; remembers it, so coming back to the window opens it.
pub fn notify<R: Runtime>(app: &AppHandle<R>, session: &Session) {
    let focused = app
        .get_webview_window("main")
        .and_then(|window| window.is_focused().ok())
        .unwrap_or(false);
    if focused {
        return;
    }
    let verb = match session.status {
        SessionStatus::Completed => "completed",
        SessionStatus::Failed => "failed",
        SessionStatus::Interrupted => "was interrupted",
        SessionStatus::NeedsApproval => "needs approval",
        _ => return,
    };
    let mut body = session.title.as_str().to_owned();
    let detail = if session.status == SessionStatus::NeedsApproval {
        session
            .pending_approvals
            .first()
            .map(ApprovalRequest::summary)
    } else {
        session.last_error.clone()
    };
    if let Some(detail) = detail {
        body.push_str(" — ");
        body.push_str(&detail);
    }
    if let Err(error) = app
        .notification()
        .builder()
        .title(format!("Lulu: a session {verb}"))
        .body(body)
        .show()
    {
        tracing::warn!(%error, "could not show a notification");
    }
    app.state::<Arc<AppState>>()
        .streams
        .remember_notice(session.id, Instant::now());
}

/// The window got the focus back: open the session of a recent notification.
pub fn focus_returned<R: Runtime>(app: &AppHandle<R>) {
    let streams = &app.state::<Arc<AppState>>().streams;
    if let Some(session_id) = streams.take_notice(OPEN_AFTER_NOTICE) {
        streams.tell_dashboard(WatchMessage::Open { session_id });
    }
}
