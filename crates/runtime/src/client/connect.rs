//! Connecting to a database's daemon, starting it on demand.
//!
//! A daemon is started as `<lulu> daemon --background` (it leaves the terminal with
//! `setsid` itself, and logs beside the database); the client then waits, up to a
//! deadline, for its socket to answer. Two clients starting daemons at once are fine:
//! the lock lets one serve, the other exits at once and both clients find the one.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::net::UnixStream;
use tokio::time::Instant;

use super::{receive, send, DaemonClient};
use crate::config::{RuntimeConfig, ENV_CLAUDE_BIN, ENV_DB, ENV_MAX_RUNNING};
use crate::daemon::DaemonPaths;
use crate::error::RuntimeError;
use crate::protocol::{Hello, PROTOCOL_VERSION};

/// How to start a daemon when none answers.
#[derive(Debug, Clone)]
pub struct DaemonStarter {
    /// The `lulu` executable.
    pub program: PathBuf,
    /// Environment the daemon gets on top of this process's (database, agent, limits).
    pub env: Vec<(String, OsString)>,
    /// How long to wait for its socket to answer.
    pub deadline: Duration,
}

impl DaemonStarter {
    /// How a front end configured with `config` starts its database's daemon: `program`
    /// (a `lulu` executable) with the database, agent binary, run limit and the idle and
    /// approval timeouts of `config` in its environment, so the daemon agrees with the front end that started it.
    pub fn for_config(program: PathBuf, config: &RuntimeConfig, deadline: Duration) -> Self {
        Self {
            program,
            env: vec![
                (ENV_DB.to_owned(), config.db_path.clone().into_os_string()),
                (
                    ENV_CLAUDE_BIN.to_owned(),
                    config.claude_bin.clone().into_os_string(),
                ),
                (
                    ENV_MAX_RUNNING.to_owned(),
                    config.max_running.to_string().into(),
                ),
                (
                    crate::config::ENV_IDLE_TIMEOUT.to_owned(),
                    format!("{}ms", config.idle_timeout.as_millis()).into(),
                ),
                (
                    crate::config::ENV_APPROVAL_TIMEOUT.to_owned(),
                    config
                        .approval_timeout
                        .map(|after| format!("{}ms", after.as_millis()))
                        .unwrap_or_default()
                        .into(),
                ),
            ],
            deadline,
        }
    }
}

/// How often a starting client looks for the daemon's socket.
const RETRY: Duration = Duration::from_millis(10);
/// How long after a start that found another daemon starting the client starts one again
/// (if that other one has gone meanwhile): many clients starting at once do not storm.
const RESTART_AFTER: Duration = Duration::from_millis(250);
/// How long a daemon may take to answer the hello (a stopped or stuck one never does; a
/// busy one on a loaded machine can take seconds).
pub const HELLO_DEADLINE: Duration = Duration::from_secs(10);

/// Connects to the daemon of `paths` if one answers; `None` if none listens.
///
/// # Errors
/// [`RuntimeError::DaemonVersion`] for a daemon of another protocol version;
/// [`RuntimeError::Daemon`] when the socket's peer is another user, or the daemon does
/// not answer the hello within [`HELLO_DEADLINE`].
pub async fn connect(paths: &DaemonPaths) -> Result<Option<DaemonClient>, RuntimeError> {
    let stream = match UnixStream::connect(&paths.socket).await {
        Ok(stream) => stream,
        Err(error)
            if matches!(
                error.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None)
        }
        Err(error) => {
            return Err(RuntimeError::Daemon(format!(
                "cannot connect to {}: {error}",
                paths.socket.display()
            )))
        }
    };
    let own_uid = nix::unistd::geteuid().as_raw();
    match stream.peer_cred() {
        Ok(peer) if peer.uid() == own_uid => {}
        Ok(peer) => {
            return Err(RuntimeError::Daemon(format!(
                "the socket {} belongs to another user (uid {}); refusing to use it",
                paths.socket.display(),
                peer.uid()
            )))
        }
        Err(error) => {
            return Err(RuntimeError::Daemon(format!(
                "cannot tell who listens on {}: {error}",
                paths.socket.display()
            )))
        }
    }
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    send(&mut write, &Hello::current()).await?;
    let answer = tokio::time::timeout(HELLO_DEADLINE, receive::<Hello>(&mut lines)).await;
    let daemon = match answer {
        Ok(Ok(hello)) => hello,
        // A daemon that closes before its hello is stopping: as good as none.
        Ok(Err(RuntimeError::Daemon(_))) => return Ok(None),
        Ok(Err(error)) => return Err(error),
        Err(_) => {
            return Err(RuntimeError::Daemon(format!(
                "the daemon on {} did not answer within {} s (stopped or stuck?)",
                paths.socket.display(),
                HELLO_DEADLINE.as_secs()
            )))
        }
    };
    if daemon.protocol != PROTOCOL_VERSION {
        return Err(RuntimeError::DaemonVersion {
            socket: paths.socket.clone(),
            theirs: daemon,
            ours: Hello::current(),
        });
    }
    Ok(Some(DaemonClient {
        lines,
        write,
        daemon,
    }))
}

/// Connects to the daemon of `paths`, starting one with `starter` if none answers, and
/// waits for it up to the starter's deadline.
///
/// # Errors
/// As [`connect`]; [`RuntimeError::Daemon`] when no daemon answers by the deadline or
/// the one started failed (its log says why).
pub async fn connect_or_start(
    paths: &DaemonPaths,
    starter: &DaemonStarter,
) -> Result<DaemonClient, RuntimeError> {
    if let Some(client) = connect(paths).await? {
        return Ok(client);
    }
    let began = Instant::now();
    let mut started_at = Instant::now();
    let mut child = start(paths, starter)?;
    loop {
        if let Some(client) = connect(paths).await? {
            wait_in_background(child);
            return Ok(client);
        }
        if let Ok(Some(status)) = child.try_wait() {
            if !status.success() {
                return Err(RuntimeError::Daemon(format!(
                    "the daemon could not start ({status}){}; its log is {}",
                    last_line(&paths.log),
                    paths.log.display()
                )));
            }
            // Another daemon held the lock: it is starting, or it stopped since. Start
            // again now and then, in case it stopped.
            if started_at.elapsed() > RESTART_AFTER {
                started_at = Instant::now();
                child = start(paths, starter)?;
            }
        }
        if began.elapsed() > starter.deadline {
            wait_in_background(child);
            return Err(RuntimeError::Daemon(format!(
                "no daemon answered on {} within {} s; its log is {}",
                paths.socket.display(),
                starter.deadline.as_secs(),
                paths.log.display()
            )));
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// Sends `request` to the daemon of `paths`, starting one if none answers. A daemon
/// that refuses it because it is stopping (idle, or asked to) did not carry it out:
/// the request goes to the next daemon, up to the starter's deadline.
///
/// # Errors
/// As [`connect_or_start`] and [`DaemonClient::request`].
pub async fn request_starting(
    paths: &DaemonPaths,
    starter: &DaemonStarter,
    request: &crate::protocol::Request,
) -> Result<crate::protocol::Response, RuntimeError> {
    let began = Instant::now();
    loop {
        let mut client = connect_or_start(paths, starter).await?;
        match client.request(request).await {
            Err(RuntimeError::Refused { code, .. })
                if code == "daemon_stopping" && began.elapsed() < starter.deadline =>
            {
                client.closed().await;
            }
            answered => return answered,
        }
    }
}

/// Starts `<lulu> daemon --background`, its output appended to the daemon log.
fn start(paths: &DaemonPaths, starter: &DaemonStarter) -> Result<Child, RuntimeError> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&paths.log)
        .map_err(|error| {
            RuntimeError::Daemon(format!(
                "cannot open the daemon log {}: {error}",
                paths.log.display()
            ))
        })?;
    let mut command = Command::new(&starter.program);
    command
        .args(["daemon", "--background"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
    for (name, value) in &starter.env {
        command.env(name, value);
    }
    command.spawn().map_err(|error| {
        RuntimeError::Daemon(format!(
            "cannot run {} to start the daemon: {error}",
            starter.program.display()
        ))
    })
}

/// Reaps the started process whenever it exits, for as long as this process lives.
fn wait_in_background(mut child: Child) {
    std::thread::spawn(move || child.wait());
}

/// `: <last line of the log>`, or nothing.
fn last_line(log: &std::path::Path) -> String {
    std::fs::read_to_string(log)
        .ok()
        .and_then(|text| text.lines().last().map(str::to_owned))
        .map(|line| format!(": {line}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt as _;
    use tokio::net::UnixListener;

    use super::*;
    use crate::protocol::{Request, Response};

    /// Plays a daemon for one connection: greets, reads one request, answers `answer`.
    async fn serve_one(listener: &UnixListener, answer: &Response) -> Request {
        let (stream, _) = listener.accept().await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let _hello: Hello =
            serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
        let hello = serde_json::to_string(&Hello::current()).unwrap();
        write
            .write_all(format!("{hello}\n").as_bytes())
            .await
            .unwrap();
        let request = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
        let answer = serde_json::to_string(answer).unwrap();
        write
            .write_all(format!("{answer}\n").as_bytes())
            .await
            .unwrap();
        request
    }

    #[tokio::test]
    async fn a_request_refused_by_a_stopping_daemon_goes_to_the_next_one() {
        let dir = std::env::temp_dir().join(format!("lulu-client-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let paths = DaemonPaths::new(&dir.join("lulu.db"), None, &dir);
        let listener = UnixListener::bind(&paths.socket).unwrap();
        let daemons = tokio::spawn(async move {
            let stopping = Response::Error {
                code: "daemon_stopping".into(),
                message: "stopping".into(),
            };
            let first = serve_one(&listener, &stopping).await;
            let second = serve_one(&listener, &Response::Deleted).await;
            (first, second)
        });
        let starter = DaemonStarter {
            program: "/nonexistent/lulu".into(),
            env: Vec::new(),
            deadline: Duration::from_secs(30),
        };
        let request = Request::Delete {
            id: lulu_domain::testing::session_id(1),
            force: false,
        };

        let answered = request_starting(&paths, &starter, &request).await.unwrap();

        assert_eq!(answered, Response::Deleted);
        let (first, second) = daemons.await.unwrap();
        assert_eq!((first, second), (request.clone(), request));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_starter_hands_the_front_ends_settings_and_timeouts_to_its_daemon() {
        let mut config = RuntimeConfig::new("/data/lulu.db".into(), "/opt/claude".into());
        config.max_running = 3;
        config.idle_timeout = Duration::from_secs(90);
        config.approval_timeout = Some(Duration::from_secs(1800));

        let starter =
            DaemonStarter::for_config("/usr/bin/lulu".into(), &config, Duration::from_secs(5));

        assert_eq!(starter.program, PathBuf::from("/usr/bin/lulu"));
        assert_eq!(
            starter.env,
            vec![
                ("LULU_DB".to_owned(), OsString::from("/data/lulu.db")),
                ("LULU_CLAUDE_BIN".to_owned(), OsString::from("/opt/claude")),
                ("LULU_MAX_RUNNING".to_owned(), OsString::from("3")),
                ("LULU_IDLE_TIMEOUT".to_owned(), OsString::from("90000ms")),
                (
                    "LULU_APPROVAL_TIMEOUT".to_owned(),
                    OsString::from("1800000ms")
                ),
            ]
        );
        assert_eq!(starter.deadline, Duration::from_secs(5));
    }
}
