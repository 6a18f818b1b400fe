//! The daemon's listener: the lock, the socket (mode 0600, peers of this uid only),
//! one task per client, the idle exit and the graceful stop.

use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::RwLock;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::feed::ChangeFeed;
use super::lock::DaemonLock;
use super::DaemonOptions;
use crate::error::RuntimeError;
use crate::protocol::{Hello, Request, Response, PROTOCOL_VERSION};
use crate::{Runtime, RuntimeConfig};

/// Why a daemon ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaemonExit {
    /// Another daemon holds this database's lock; this one never served.
    AnotherRuns,
    /// No live run and no client for the idle time.
    Idle,
    /// Asked to stop (a signal or a shutdown request), or its database file was lost.
    Stopped,
}

/// One serving daemon's shared state.
pub(super) struct Daemon {
    pub(super) runtime: Arc<Runtime>,
    pub(super) options: DaemonOptions,
    pub(super) clients: AtomicUsize,
    /// Cancelled once the daemon stops taking requests.
    pub(super) stopping: CancellationToken,
    /// Held (shared) by every request being carried out; taken whole before the daemon
    /// stops its runs, so no run starts after the stop has looked for live ones.
    pub(super) gate: RwLock<()>,
    /// Other processes' changes, for watchers.
    pub(super) feed: Arc<ChangeFeed>,
}

/// Serves `config`'s database as its daemon until it is idle or asked to stop.
///
/// # Errors
/// [`RuntimeError::Daemon`] when the lock or the socket cannot be set up; the errors of
/// opening the database.
pub async fn serve(
    config: RuntimeConfig,
    options: DaemonOptions,
) -> Result<DaemonExit, RuntimeError> {
    // Before anything is started: what it inherited must not reach its runs.
    super::descriptors::close_inherited();
    let Some(lock) = DaemonLock::try_acquire(&options.paths.lock)? else {
        info!(lock = %options.paths.lock.display(), "another daemon serves this database");
        return Ok(DaemonExit::AnotherRuns);
    };
    raise_descriptor_limit()?;
    let runtime = Arc::new(crate::open(config).await?);
    for session in runtime.take_recovered() {
        info!(session_id = %session.id, status = %session.status, "recovered a session whose owner died");
    }
    runtime.serve().await?;
    let listener = match listen(&options.paths.socket) {
        Ok(listener) => listener,
        Err(error) => {
            runtime.shutdown().await;
            return Err(error);
        }
    };
    info!(
        pid = std::process::id(),
        socket = %options.paths.socket.display(),
        idle_s = options.idle.as_secs_f64(),
        "daemon serving"
    );
    let feed = Arc::new(ChangeFeed::new(Arc::clone(&runtime)));
    let daemon = Arc::new(Daemon {
        runtime,
        options,
        clients: AtomicUsize::new(0),
        stopping: CancellationToken::new(),
        gate: RwLock::new(()),
        feed: Arc::clone(&feed),
    });
    let feed_reader = tokio::spawn(feed.run(daemon.stopping.clone()));
    let exit = daemon.accept_until_done(listener).await;
    daemon.stopping.cancel();
    let _ = feed_reader.await;
    let _ = std::fs::remove_file(&daemon.options.paths.socket);
    let _no_more_requests = daemon.gate.write().await;
    let live = daemon.runtime.live_sessions().len();
    info!(?exit, live, "daemon stopping; interrupting its live runs");
    for (id, error) in daemon.runtime.shutdown().await {
        warn!(session_id = %id, %error, "could not interrupt a run at shutdown");
    }
    drop(lock);
    info!("daemon stopped");
    Ok(exit)
}

/// Raises the soft limit on open descriptors to the hard one: a daemon holds a handful
/// per run, for every run, and inherited whatever soft limit its starter had. A hard
/// limit below [`MIN_DESCRIPTORS`] is refused: such a daemon could not even take clients.
fn raise_descriptor_limit() -> Result<(), RuntimeError> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok(limits) => limits,
        Err(error) => {
            warn!(%error, "cannot read the open file limit");
            return Ok(());
        }
    };
    if hard < MIN_DESCRIPTORS {
        return Err(RuntimeError::Daemon(format!(
            "the open file limit ({hard}) is too low for the daemon, which needs at least {MIN_DESCRIPTORS}"
        )));
    }
    if soft < hard {
        if let Err(error) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            warn!(%error, soft, hard, "cannot raise the open file limit");
        }
    }
    Ok(())
}

/// The fewest open descriptors a daemon starts with.
const MIN_DESCRIPTORS: u64 = 64;

/// Binds the socket at `path` with mode 0600, replacing a socket a dead daemon left
/// (the caller holds the lock, so no live daemon listens on it).
fn listen(path: &Path) -> Result<UnixListener, RuntimeError> {
    let failed = |what: &str, error: std::io::Error| {
        RuntimeError::Daemon(format!(
            "cannot {what} the socket {}: {error}",
            path.display()
        ))
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            info!(socket = %path.display(), "removing the socket a dead daemon left");
            std::fs::remove_file(path).map_err(|error| failed("remove the stale", error))?;
        }
        Ok(_) => {
            return Err(RuntimeError::Daemon(format!(
                "{} exists and is not a socket; move it away",
                path.display()
            )))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(failed("inspect", error)),
    }
    // Created 0600 from the start: no instant in which another user could connect.
    let umask = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
    let bound = UnixListener::bind(path);
    nix::sys::stat::umask(umask);
    let listener = bound.map_err(|error| failed("bind", error))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|error| failed("restrict", error))?;
    Ok(listener)
}

impl Daemon {
    /// Accepts clients until the daemon is idle, signalled, asked to stop or has lost
    /// its database file.
    async fn accept_until_done(self: &Arc<Self>, listener: UnixListener) -> DaemonExit {
        let (Ok(mut terminate), Ok(mut interrupt)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            warn!("cannot watch for SIGTERM / SIGINT");
            return DaemonExit::Stopped;
        };
        let tick = (self.options.idle / 4).clamp(Duration::from_millis(20), Duration::from_secs(1));
        let mut busy_at = Instant::now();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        busy_at = Instant::now();
                        tokio::spawn(Arc::clone(self).client(stream));
                    }
                    Err(error) => {
                        warn!(%error, "cannot accept a client");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                () = self.stopping.cancelled() => return DaemonExit::Stopped,
                _ = terminate.recv() => {
                    info!("SIGTERM");
                    return DaemonExit::Stopped;
                }
                _ = interrupt.recv() => {
                    info!("SIGINT");
                    return DaemonExit::Stopped;
                }
                () = tokio::time::sleep(tick) => {
                    if self.runtime.database_lost().is_some() {
                        return DaemonExit::Stopped;
                    }
                    let busy = self.clients.load(Ordering::SeqCst) > 0
                        || !self.runtime.live_sessions().is_empty();
                    if busy {
                        busy_at = Instant::now();
                    } else if busy_at.elapsed() >= self.options.idle {
                        return DaemonExit::Idle;
                    }
                }
            }
        }
    }

    /// Serves one client: its uid checked, hellos exchanged, then one response per request.
    async fn client(self: Arc<Self>, stream: UnixStream) {
        let own_uid = nix::unistd::geteuid().as_raw();
        match stream.peer_cred() {
            Ok(peer) if peer.uid() == own_uid => {}
            Ok(peer) => {
                warn!(peer_uid = peer.uid(), "refused a client of another user");
                return;
            }
            Err(error) => {
                warn!(%error, "refused a client whose user cannot be told");
                return;
            }
        }
        let _counted = ClientCount::enter(&self.clients);
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let Ok(Some(first)) = lines.next_line().await else {
            return;
        };
        let hello: Hello = match serde_json::from_str(&first) {
            Ok(hello) => hello,
            Err(error) => {
                let _ = send(&mut write, &bad_request(&error)).await;
                return;
            }
        };
        // A stopping daemon greets no one: the client takes it as none and starts the next.
        if self.stopping.is_cancelled() || send(&mut write, &Hello::current()).await.is_err() {
            return;
        }
        if hello.protocol != PROTOCOL_VERSION {
            let refused = Response::Error {
                code: "protocol_mismatch".to_owned(),
                message: format!(
                    "this daemon speaks protocol {PROTOCOL_VERSION}, the client {} (Lulu {})",
                    hello.protocol, hello.lulu
                ),
            };
            let _ = send(&mut write, &refused).await;
            return;
        }
        while let Ok(Some(line)) = lines.next_line().await {
            let response = match serde_json::from_str::<Request>(&line) {
                // A stream, not one answer; it holds no gate (it ends when its session
                // settles, which a stopping daemon brings about).
                Ok(Request::Follow { id, after }) => {
                    if self.follow(id, after, &mut write).await.is_err() {
                        return;
                    }
                    continue;
                }
                Ok(Request::Watch) => {
                    let _ = self.watch(&mut lines, &mut write).await;
                    return;
                }
                Ok(request) => self.handle(request).await,
                Err(error) => bad_request(&error),
            };
            if send(&mut write, &response).await.is_err() {
                return;
            }
        }
    }
}

fn bad_request(error: &serde_json::Error) -> Response {
    Response::Error {
        code: "bad_request".to_owned(),
        message: format!("the request is not one this daemon knows: {error}"),
    }
}

/// Writes `message` as one JSON line.
pub(super) async fn send(
    write: &mut tokio::net::unix::OwnedWriteHalf,
    message: &impl serde::Serialize,
) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    line.push(b'\n');
    write.write_all(&line).await
}

/// Counts a connected client for as long as it is held.
struct ClientCount<'a>(&'a AtomicUsize);

impl<'a> ClientCount<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for ClientCount<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
