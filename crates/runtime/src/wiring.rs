//! The composition root: the concrete adapters, wired into a [`Runtime`].

use std::sync::Arc;

use tracing::warn;

use lulu_adapters_cli::{CliLauncher, CliLauncherConfig};
use lulu_adapters_sqlite::{SqliteStore, StoreOptions};
use lulu_domain::ports::{BroadcastUpdates, Clock, ControlStore, RandomIds, SystemClock};
use lulu_domain::{OwnerId, Ports, SessionSupervisor, SupervisorConfig};

use crate::owner::OwnerIdentity;
use crate::processes::SystemProcesses;
use crate::slots::SharedSlots;
use crate::{Runtime, RuntimeConfig, RuntimeError, RuntimeParts};

/// Opens the database, wires the supervisor to the SQLite store and the Claude CLI
/// launcher, has the runtime watch the database file (see
/// [`Runtime::watch_database_file`]), and recovers sessions whose owner died.
///
/// # Errors
/// [`RuntimeError::Database`] when the database cannot be opened (not Lulu's, damaged,
/// newer, unreachable), or a store error during recovery.
pub async fn open(config: RuntimeConfig) -> Result<Runtime, RuntimeError> {
    let identity = this_process();
    let options = StoreOptions::new(&config.db_path).owner(identity.owner);
    let store = SqliteStore::open(options)
        .await
        .map_err(|error| RuntimeError::Database {
            path: config.db_path.clone(),
            source: error,
        })?;
    let store = Arc::new(store);
    // Kept concrete for the file check, which is the SQLite store's own.
    let file = Arc::clone(&store);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    let mut launcher = CliLauncherConfig::with_binary(config.claude_bin.clone().into_os_string());
    let recorder = Arc::clone(&store);
    launcher.observer = Some(Arc::new(move |_session, run_id, processes| {
        // Stored so another process can kill them if this one dies; never blocks the run.
        let store = Arc::clone(&recorder);
        tokio::spawn(async move {
            if let Err(error) =
                ControlStore::record_processes(store.as_ref(), run_id, &processes).await
            {
                warn!(%run_id, %error, "could not record the run's processes");
            }
        });
    }));

    let control: Arc<dyn ControlStore> = store.clone();
    let slots = SharedSlots::new(
        Arc::clone(&control),
        Arc::clone(&clock),
        config.max_running,
        config.poll_interval * 4,
    );
    let ports = Ports {
        store: store.clone(),
        launcher: Arc::new(CliLauncher::new(launcher)),
        clock: Arc::clone(&clock),
        ids: Arc::new(RandomIds),
        updates: Arc::new(BroadcastUpdates::default()),
        slots: Arc::new(slots),
    };
    let supervisor = SessionSupervisor::new(
        ports,
        SupervisorConfig {
            interrupt: config.interrupt,
            approval_timeout: config.approval_timeout,
            idle_timeout: Some(config.idle_timeout),
        },
    );
    let parts = RuntimeParts {
        supervisor,
        store,
        control,
        processes: Arc::new(SystemProcesses),
        clock,
        identity,
    };
    let runtime = Runtime::new(parts, config);
    runtime.watch_database_file(Arc::new(move || file.check_file()));
    // Reads must work whatever recovery meets (a full disk refuses its writes): a failed
    // pass is a warning, and the next command, or this owner's housekeeping, tries again.
    if let Err(error) = runtime.recover().await {
        warn!(%error, "could not recover the sessions of dead owners yet; will retry");
    }
    Ok(runtime)
}

/// This process as an owner: a fresh owner id, its pid and start time, the host name.
fn this_process() -> OwnerIdentity {
    let pid = std::process::id();
    OwnerIdentity {
        owner: OwnerId::from_uuid(uuid::Uuid::new_v4()),
        pid,
        start_time: lulu_adapters_cli::process_start_time(pid).unwrap_or_default(),
        host: nix::unistd::gethostname()
            .ok()
            .and_then(|name| name.into_string().ok())
            .unwrap_or_else(|| "localhost".to_owned()),
    }
}
