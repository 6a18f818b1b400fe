//! What every command shares: the resolved configuration, the database (opened once,
//! through the runtime, for reads) and how to reach the database's daemon.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OnceCell;

use lulu_runtime::client::{self, DaemonClient, DaemonStarter};
use lulu_runtime::daemon::DaemonPaths;
use lulu_runtime::protocol::{Request, Response};
use lulu_runtime::{Runtime, RuntimeConfig, RuntimeError};

use crate::streams::Streams;

/// How long a command waits for a daemon it starts to answer.
const DAEMON_START_DEADLINE: Duration = Duration::from_secs(20);

/// The app's shared state, managed by Tauri.
pub struct AppState {
    config: RuntimeConfig,
    paths: DaemonPaths,
    starter: DaemonStarter,
    runtime: OnceCell<Arc<Runtime>>,
    /// The watch and follow streams the UI holds open.
    pub streams: Streams,
}

impl AppState {
    /// State for `config`, starting daemons with the `lulu` executable `lulu`.
    pub fn new(config: RuntimeConfig, lulu: PathBuf) -> Self {
        let paths = DaemonPaths::from_env(&config.db_path);
        let starter = DaemonStarter::for_config(lulu, &config, DAEMON_START_DEADLINE);
        Self {
            config,
            paths,
            starter,
            runtime: OnceCell::new(),
            streams: Streams::default(),
        }
    }

    /// State from the environment (`LULU_DB`, `LULU_CLAUDE_BIN`, `LULU_MAX_RUNNING`, as
    /// `lulu` reads them), with the `lulu` executable beside this one or on `PATH`.
    ///
    /// # Errors
    /// A setting of the wrong form, or no `lulu` executable to start the daemon with.
    pub fn from_env() -> anyhow::Result<Self> {
        let config = RuntimeConfig::from_env()?;
        let lulu = find_lulu(
            std::env::current_exe().ok().as_deref(),
            std::env::var_os("PATH").as_deref(),
        )
        .ok_or_else(|| {
            anyhow::anyhow!(
                "cannot find the `lulu` executable (beside lulu-desktop or on PATH) to start the Lulu daemon with"
            )
        })?;
        Ok(Self::new(config, lulu))
    }

    /// The configuration in force.
    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// Where the daemon keeps its socket and log.
    pub fn paths(&self) -> &DaemonPaths {
        &self.paths
    }

    /// The database, opened on first use (sessions whose owner died are recovered then,
    /// as any Lulu process does on opening it).
    ///
    /// # Errors
    /// The database cannot be opened.
    pub async fn runtime(&self) -> Result<&Arc<Runtime>, RuntimeError> {
        self.runtime
            .get_or_try_init(|| async {
                lulu_runtime::open(self.config.clone()).await.map(Arc::new)
            })
            .await
    }

    /// Has the daemon (started if none answers) carry out `request`.
    ///
    /// # Errors
    /// The daemon's refusal, or it cannot be reached or started.
    pub async fn ask_daemon(&self, request: &Request) -> Result<Response, RuntimeError> {
        client::request_starting(&self.paths, &self.starter, request).await
    }

    /// A connection to the daemon, started if none answers.
    ///
    /// # Errors
    /// It cannot be reached or started.
    pub async fn daemon(&self) -> Result<DaemonClient, RuntimeError> {
        client::connect_or_start(&self.paths, &self.starter).await
    }

    /// A connection to the daemon if one answers now.
    ///
    /// # Errors
    /// A daemon answers but cannot be used (another version, another user).
    pub async fn running_daemon(&self) -> Result<Option<DaemonClient>, RuntimeError> {
        client::connect(&self.paths).await
    }
}

/// The `lulu` executable: beside `exe` (how the workspace build and the `.deb` install
/// them), else the first on `path`.
pub fn find_lulu(exe: Option<&Path>, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    let beside = exe
        .and_then(Path::parent)
        .map(|dir| dir.join("lulu"))
        .filter(|candidate| candidate.is_file());
    beside.or_else(|| {
        std::env::split_paths(path?)
            .map(|dir| dir.join("lulu"))
            .find(|candidate| candidate.is_file())
    })
}
