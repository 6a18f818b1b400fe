//! `lulu-desktop`: opens the dashboard on the database `lulu` uses (`LULU_DB` overrides).

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::sync::Arc;

use tracing_subscriber::EnvFilter;

use lulu_app_tauri::state::AppState;

fn main() -> anyhow::Result<()> {
    // A dashboard needs no GPU compositing; without it the web process holds ~80 MB less
    // (measured under Xvfb). Set before any thread starts; an explicit setting wins.
    // Without compositing the DMA-BUF renderer has nothing to do, yet it costs the app
    // process ~4.5 MB (release build, desktop-bench: PSS 91.7 -> 86.9 MB).
    for name in [
        "WEBKIT_DISABLE_COMPOSITING_MODE",
        "WEBKIT_DISABLE_DMABUF_RENDERER",
    ] {
        if std::env::var_os(name).is_none() {
            std::env::set_var(name, "1");
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let state = AppState::from_env()?;
    lulu_app_tauri::setup(tauri::Builder::default().manage(Arc::new(state)))
        .run(tauri::generate_context!())?;
    Ok(())
}
