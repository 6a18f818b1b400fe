//! `lulu-desktop`: Lulu's desktop dashboard, a Tauri 2 app on the `lulu-runtime` API.
//!
//! It is a client of the database's Lulu daemon (started on demand, as `lulu` does),
//! which owns every run: closing or killing the app never stops a session. Reads go
//! straight to the database through the runtime; lifecycle operations go through the
//! daemon; the dashboard and session views are fed by the daemon's watch and follow
//! streams. The app holds no lifecycle, mailbox, polling or recovery logic.

pub mod batch;
pub mod commands;
pub mod conversation;
pub mod error;
pub mod input;
pub mod native;
pub mod state;
pub mod streams;
pub mod views;

use std::sync::Arc;

use tauri::{Builder, Manager as _, Runtime, WindowEvent};

use crate::state::AppState;

/// Registers the commands, plugins and hooks on `builder`, which must manage an
/// `Arc<AppState>`. `main` and the command tests share it.
pub fn setup<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    builder
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .invoke_handler(tauri::generate_handler![
            commands::list_sessions,
            commands::get_session,
            commands::get_transcript,
            commands::start_session,
            commands::interrupt_session,
            commands::resume_session,
            commands::delete_session,
            commands::stop_all_sessions,
            commands::get_settings,
            commands::watch_sessions,
            commands::follow_session,
            commands::unfollow_session,
            conversation::answer_approval,
            conversation::send_message,
            conversation::close_session,
            native::pick_directory,
        ])
        .setup(|app| {
            let handle = app.handle().clone();
            app.state::<Arc<AppState>>()
                .streams
                .on_notice(Arc::new(move |session| {
                    native::notify(&handle, session);
                }));
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::Focused(true) = event {
                native::focus_returned(window.app_handle());
            }
        })
}
