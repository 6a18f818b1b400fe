//! Embeds the UI and generates one permission per app command, so the capability file
//! can grant exactly the commands the UI uses.

fn main() {
    let commands = &[
        "list_sessions",
        "get_session",
        "get_transcript",
        "start_session",
        "interrupt_session",
        "resume_session",
        "delete_session",
        "stop_all_sessions",
        "get_settings",
        "pick_directory",
        "watch_sessions",
        "follow_session",
        "unfollow_session",
        "answer_approval",
        "send_message",
        "close_session",
    ];
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(commands)),
    )
    .expect("tauri-build failed");
}
