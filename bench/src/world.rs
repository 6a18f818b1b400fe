//! One benchmark world: a temporary database and home, the environment `lulu` and the agent
//! run with, and the cleanup of every process started in it.

use std::cell::RefCell;
use std::ffi::OsString;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use crate::procfs;

/// The environment variable that marks every process started in a world (and inherited
/// by everything they start), so the world's end can find them all.
const MARKER: &str = "LULU_BENCH_WORLD";

/// The binaries and installs the measures use.
#[derive(Debug, Clone)]
pub struct Tools {
    /// The workspace root.
    pub root: PathBuf,
    /// Cargo's target directory.
    pub target: PathBuf,
    /// `target/release/lulu`.
    pub lulu: PathBuf,
    /// `target/release/fake-claude`.
    pub fake_claude: PathBuf,
    /// The real CLI, or why it is not there.
    pub real_cli: Result<PathBuf, String>,
    /// The Agent SDK's install folder (holding `node_modules`), or why it is not there.
    pub sdk: Result<PathBuf, String>,
}

/// Which agent a world runs.
#[derive(Debug, Clone)]
pub enum Agent {
    /// `fake-claude`, with its `SLOW` tick.
    Fake {
        /// `FAKE_CLAUDE_TICK_MS`.
        tick_ms: u64,
    },
    /// The real CLI against the stand-in API at this base URL.
    Real {
        /// `ANTHROPIC_BASE_URL`.
        api: String,
    },
}

/// A temporary database and home; dropping it stops the daemon and kills whatever the
/// world started.
pub struct World {
    dir: tempfile::TempDir,
    /// The database.
    pub db: PathBuf,
    /// The agent binary.
    pub agent_bin: PathBuf,
    lulu: PathBuf,
    env: Vec<(String, OsString)>,
    daemons: RefCell<Vec<Child>>,
}

impl World {
    /// A new world running `agent`, with `max_running` run slots.
    pub fn new(tools: &Tools, agent: &Agent, max_running: usize) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("lulu-bench-").tempdir()?;
        let home = dir.path().join("home");
        let work = dir.path().join("work");
        std::fs::create_dir_all(&home)?;
        std::fs::create_dir_all(&work)?;
        let db = dir.path().join("lulu.db");
        let mut env: Vec<(String, OsString)> = vec![
            (MARKER.into(), dir.path().into()),
            ("HOME".into(), home.clone().into()),
            ("CLAUDE_CONFIG_DIR".into(), home.join(".claude").into()),
            ("LULU_DB".into(), db.clone().into()),
            ("LULU_MAX_RUNNING".into(), max_running.to_string().into()),
            ("LULU_DAEMON_IDLE".into(), "10m".into()),
            ("NO_COLOR".into(), "1".into()),
        ];
        let agent_bin = match agent {
            Agent::Fake { tick_ms } => {
                env.push(("FAKE_CLAUDE_TICK_MS".into(), tick_ms.to_string().into()));
                tools.fake_claude.clone()
            }
            Agent::Real { api } => {
                env.extend(real_cli_env(api));
                tools.real_cli.clone().map_err(anyhow::Error::msg)?
            }
        };
        env.push(("LULU_CLAUDE_BIN".into(), agent_bin.clone().into()));
        Ok(Self {
            db,
            agent_bin,
            lulu: tools.lulu.clone(),
            env,
            dir,
            daemons: RefCell::new(Vec::new()),
        })
    }

    /// A new world running the real CLI against `standin`, its daemon up.
    pub fn real(tools: &Tools, standin: &StandIn, max_running: usize) -> anyhow::Result<Self> {
        let world = Self::new(
            tools,
            &Agent::Real {
                api: standin.url.clone(),
            },
            max_running,
        )?;
        world.start_daemon()?;
        Ok(world)
    }

    /// Points the world's `lulu` at the database at `db` instead of its own.
    pub fn use_database(&mut self, db: &Path) {
        db.clone_into(&mut self.db);
        for (key, value) in &mut self.env {
            if key == "LULU_DB" {
                *value = db.into();
            }
        }
    }

    /// The working directory runs start in.
    pub fn work_dir(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// A file path inside the world.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The world's environment (for a Node host of the same agent).
    pub fn env(&self) -> &[(String, OsString)] {
        &self.env
    }

    /// A `lulu` command in this world (stdin closed, output captured).
    pub fn lulu(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.lulu);
        command
            .args(args)
            .envs(self.env.iter().map(|(key, value)| (key, value)))
            .current_dir(self.work_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs `lulu args` to exit; its output when it exits with `expected`.
    pub fn lulu_output(&self, args: &[&str], expected: i32) -> anyhow::Result<Output> {
        let output = self.lulu(args).output()?;
        if output.status.code() != Some(expected) {
            bail!(
                "lulu {} exited {:?}: {}",
                args.join(" "),
                output.status.code(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(output)
    }

    /// The agent binary as a command in this world (stdio piped).
    pub fn agent(&self) -> Command {
        let mut command = Command::new(&self.agent_bin);
        command
            .envs(self.env.iter().map(|(key, value)| (key, value)))
            .current_dir(self.work_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        command
    }

    /// `lulu run --detach PROMPT`: the new session's id.
    pub fn detach(&self, prompt: &str) -> anyhow::Result<String> {
        let output = self.lulu_output(&["run", "--detach", prompt], 0)?;
        let id = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if id.is_empty() {
            bail!("lulu run --detach printed no session id");
        }
        Ok(id)
    }

    /// Starts the daemon (if it is not up) and waits until it answers; its pid.
    pub fn start_daemon(&self) -> anyhow::Result<u32> {
        if let Some(pid) = self.daemon_pid() {
            return Ok(pid);
        }
        // It stays this process's child (it only leaves the terminal): reaped at the end.
        let daemon = self
            .lulu(&["daemon", "--background"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.daemons.borrow_mut().push(daemon);
        wait_until(Duration::from_secs(20), || self.daemon_pid())
            .context("the daemon did not answer within 20 s")
    }

    /// The daemon's pid, if one answers.
    pub fn daemon_pid(&self) -> Option<u32> {
        let output = self.lulu(&["daemon", "status", "--json"]).output().ok()?;
        if !output.status.success() {
            return None;
        }
        let status: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
        status["pid"]
            .as_u64()
            .and_then(|pid| u32::try_from(pid).ok())
    }

    /// Stops the daemon once it owns no live run (waits up to `deadline` for that).
    pub fn stop_daemon(&self, deadline: Duration) -> anyhow::Result<()> {
        let Some(pid) = self.daemon_pid() else {
            return Ok(());
        };
        wait_until(deadline, || {
            self.lulu(&["daemon", "stop"])
                .output()
                .ok()
                .filter(|output| output.status.success())
        })
        .context("the daemon kept live runs past the deadline")?;
        wait_until(Duration::from_secs(10), || {
            (!procfs::is_alive(pid)).then_some(())
        })
        .context("the daemon did not exit after stop")
    }

    /// The status of session `id` as `lulu show --json` reports it.
    pub fn status(&self, id: &str) -> anyhow::Result<String> {
        let output = self.lulu_output(&["show", id, "--json"], 0)?;
        let session: serde_json::Value = serde_json::from_slice(&output.stdout)?;
        Ok(session["status"].as_str().unwrap_or_default().to_owned())
    }

    /// Waits until session `id` has `status`.
    pub fn wait_status(&self, id: &str, status: &str, deadline: Duration) -> anyhow::Result<()> {
        wait_until(deadline, || {
            self.status(id).ok().filter(|now| now == status).map(drop)
        })
        .with_context(|| format!("session {id} did not become {status} within {deadline:?}"))
    }
}

impl World {
    /// Waits until session `id`'s transcript has a line.
    pub fn wait_transcript(&self, id: &str, deadline: Duration) -> anyhow::Result<()> {
        wait_until(deadline, || {
            self.lulu(&["logs", id, "--json"])
                .output()
                .ok()
                .filter(|output| !output.stdout.is_empty())
                .map(drop)
        })
        .with_context(|| format!("session {id} wrote no transcript line within {deadline:?}"))
    }

    /// How many sessions `lulu list` reports with `status`.
    pub fn count_with_status(&self, status: &str) -> anyhow::Result<usize> {
        let output = self.lulu_output(&["list", "--status", status, "--json"], 0)?;
        let sessions: serde_json::Value = serde_json::from_slice(&output.stdout)?;
        Ok(sessions.as_array().map_or(0, Vec::len))
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self
            .lulu(&["daemon", "stop", "--force"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        procfs::kill_marked(MARKER, self.dir.path());
        for mut daemon in self.daemons.borrow_mut().drain(..) {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
    }
}

/// The environment the real CLI runs with against the stand-in API (as the conformance run).
fn real_cli_env(api: &str) -> Vec<(String, OsString)> {
    [
        ("ANTHROPIC_BASE_URL", api),
        ("ANTHROPIC_API_KEY", "sk-ant-bench-not-a-key"),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
        ("DISABLE_TELEMETRY", "1"),
        ("DISABLE_ERROR_REPORTING", "1"),
        ("DISABLE_AUTOUPDATER", "1"),
        ("CLAUDE_CODE_MAX_RETRIES", "0"),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value.into()))
    .collect()
}

/// Polls `probe` every 10 ms until it gives a value or `deadline` passes.
pub fn wait_until<T>(deadline: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let started = Instant::now();
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if started.elapsed() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The loopback stand-in for the Anthropic API (`tests/conformance/standin_api.py`).
pub struct StandIn {
    child: Child,
    /// Its base URL.
    pub url: String,
}

impl StandIn {
    /// Starts it and reads its port.
    pub fn start(root: &Path) -> anyhow::Result<Self> {
        let mut child = Command::new("python3")
            .arg(root.join("tests/conformance/standin_api.py"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("python3 runs the stand-in API")?;
        let stdout = child.stdout.take().context("its stdout")?;
        let mut port = String::new();
        BufReader::new(stdout).read_line(&mut port)?;
        let port: u16 = port
            .trim()
            .parse()
            .context("the stand-in printed its port")?;
        Ok(Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
