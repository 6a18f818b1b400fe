//! The command tests' app: the real commands, plugins and capability on `tauri::test`'s
//! mock runtime, with its own temp database, fake-claude agent and daemon (stopped on drop).

// Shared by several test binaries, each using a part of it.
#![allow(dead_code)]

#[path = "binaries.rs"]
pub mod binaries;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, Manager as _, WebviewWindow};

use lulu_app_tauri::state::AppState;
use lulu_runtime::RuntimeConfig;

/// One test's app: its own database, agent and daemon (stopped on drop).
pub struct Harness {
    /// The temp dir: the database and the sessions' working directory.
    pub dir: tempfile::TempDir,
    /// The database.
    pub db: PathBuf,
    window: WebviewWindow<MockRuntime>,
    _app: App<MockRuntime>,
}

impl Harness {
    /// A fresh app on a fresh database.
    pub fn new() -> Self {
        let bins = binaries::binaries();
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("lulu.db");
        let config = RuntimeConfig::new(db.clone(), bins.fake_claude.clone());
        let state = AppState::new(config, bins.lulu.clone());
        // The app's own context: its capability decides what the window may call.
        let app = lulu_app_tauri::setup(mock_builder().manage(Arc::new(state)))
            .build(tauri::generate_context!())
            .unwrap();
        let window = match app.get_webview_window("main") {
            Some(window) => window,
            None => tauri::WebviewWindowBuilder::new(&app, "main", tauri::WebviewUrl::default())
                .build()
                .unwrap(),
        };
        Self {
            dir,
            db,
            window,
            _app: app,
        }
    }

    /// Calls `cmd` with `args` as the web view would.
    pub fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        get_ipc_response(
            &self.window,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::Json(args),
                headers: tauri::http::HeaderMap::default(),
                invoke_key: INVOKE_KEY.to_owned(),
            },
        )
        .map(|body| body.deserialize::<Value>().unwrap())
    }

    /// Calls `cmd`, which must succeed.
    pub fn ok(&self, cmd: &str, args: Value) -> Value {
        let shown = args.to_string();
        self.invoke(cmd, args)
            .unwrap_or_else(|error| panic!("{cmd} {shown} failed: {error}"))
    }

    /// Calls `cmd`, which must fail; its error.
    pub fn err(&self, cmd: &str, args: Value) -> Value {
        let shown = args.to_string();
        match self.invoke(cmd, args) {
            Ok(value) => panic!("{cmd} {shown} should fail but gave {value}"),
            Err(error) => error,
        }
    }

    /// Starts a session on `prompt` in the temp dir.
    pub fn start(&self, prompt: &str) -> Value {
        let cwd = self.dir.path().to_str().unwrap();
        self.ok(
            "start_session",
            json!({"input": {"prompt": prompt, "cwd": cwd}}),
        )
    }

    /// The session once `done` holds for it (polled; generous deadline).
    pub fn wait_for(&self, id: &Value, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let session = self.ok("get_session", json!({"id": id}))["session"].clone();
            if done(&session) {
                return session;
            }
            assert!(
                Instant::now() < deadline,
                "session never became {what}: {session}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The session once its status is `status`.
    pub fn wait_status(&self, id: &Value, status: &str) -> Value {
        self.wait_for(id, status, |session| session["status"] == status)
    }

    /// Whether a daemon was started (its socket exists).
    pub fn daemon_socket_exists(&self) -> bool {
        lulu_runtime::daemon::DaemonPaths::from_env(&self.db)
            .socket
            .exists()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::process::Command::new(&binaries::binaries().lulu)
            .arg("--db")
            .arg(&self.db)
            .args(["daemon", "stop", "--force"])
            .output();
    }
}

/// Asserts `error` has `code`, `field` and a message containing `words`.
pub fn assert_error(error: &Value, code: &str, field: Option<&str>, words: &str) {
    assert_eq!(error["code"], code, "{error}");
    assert_eq!(error["field"].as_str(), field, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains(words), "`{message}` should say `{words}`");
}
