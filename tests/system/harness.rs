//! The whole-system fixture: a temp dir with its own database, Claude config dir and
//! work directories; a `lulu` command builder pointed at fake-claude; waits with
//! deadlines; and the process bookkeeping that proves nothing is left behind.
//!
//! This binary makes itself a child subreaper, so detached `lulu` owners (and anything
//! they orphan) come back to it when their parent exits; [`Sandbox::drop`] kills and
//! reaps every one of them. That is process-wide state, which is why these tests live
//! in a test binary of their own.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use serde_json::Value;
use tempfile::TempDir;

#[allow(unused_imports)] // each test binary that shares this harness uses some of them
pub use crate::processes::{
    all_pids, catches_sigint, describe, exists, has_descendant_named, is_daemon, parent_of,
    processes_with_env, reap_orphans, stat,
};

/// How long any wait in these tests may take before it fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The daemon protocol this build speaks.
pub const PROTOCOL: u32 = lulu_runtime::protocol::PROTOCOL_VERSION;

/// The `lulu` binary under test, built from the sources this test run was built from.
///
/// `lulu` belongs to another package, so Cargo gives this test no `CARGO_BIN_EXE_lulu`.
/// Rather than trust whatever `lulu` an older build left in `target/`, the first call
/// asks the Cargo running these tests to build it (`cargo build -p lulu-app-cli --bin
/// lulu`, same profile, same target dir: a quick no-op when it is fresh) and runs the
/// executable Cargo reports.
pub fn lulu_bin() -> &'static Path {
    static LULU: OnceLock<PathBuf> = OnceLock::new();
    LULU.get_or_init(build_lulu)
}

/// Builds `lulu` with the Cargo, profile and target dir of this test run; returns its path.
fn build_lulu() -> PathBuf {
    let me = std::env::current_exe().expect("the test knows its own path");
    let profile = me
        .ancestors()
        .nth(2)
        .and_then(Path::file_name)
        .and_then(|name| name.to_str())
        .expect("the test lives in target/<profile>/deps")
        .to_owned();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package sits in the workspace");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut command = Command::new(cargo);
    command.current_dir(workspace).args([
        "build",
        "-p",
        "lulu-app-cli",
        "--bin",
        "lulu",
        "--message-format=json-render-diagnostics",
    ]);
    if profile != "debug" {
        command.args(["--profile", &profile]);
    }
    let output = command.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "building lulu failed ({:?}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| message["target"]["name"] == "lulu")
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .expect("cargo reports the lulu executable it built")
}

/// Pids of the children this binary spawned itself (their owners wait for them).
pub(crate) fn own_children() -> &'static Mutex<HashSet<i32>> {
    static CHILDREN: OnceLock<Mutex<HashSet<i32>>> = OnceLock::new();
    CHILDREN.get_or_init(|| {
        nix::sys::prctl::set_child_subreaper(true).expect("become a child subreaper");
        Mutex::default()
    })
}

/// One test's world.
pub struct Sandbox {
    dir: TempDir,
    /// The database.
    pub db: PathBuf,
    /// fake-claude's config dir (its transcripts).
    pub claude_config: PathBuf,
    /// A work directory for sessions.
    pub work: PathBuf,
    extra_env: Vec<(String, String)>,
    /// A small file system mounted for this sandbox's database, unmounted on drop.
    small_disk: Option<PathBuf>,
}

impl Sandbox {
    /// A fresh world.
    pub fn new() -> Self {
        own_children();
        let dir = tempfile::Builder::new()
            .prefix("lulu-system-")
            .tempdir()
            .expect("temp dir");
        let work = dir.path().join("work");
        let claude_config = dir.path().join("claude");
        std::fs::create_dir_all(&work).expect("work dir");
        std::fs::create_dir_all(&claude_config).expect("claude dir");
        Self {
            db: dir.path().join("lulu.db"),
            claude_config,
            work,
            dir,
            extra_env: Vec::new(),
            small_disk: None,
        }
    }

    /// Moves the database onto a tmpfs of `size` (e.g. `2m`) of its own, so a test can fill
    /// it; `None` where mounting is not permitted (not root), for the test to skip.
    pub fn on_small_disk(mut self, size: &str) -> Option<Self> {
        let mount_point = self.dir.path().join("disk");
        std::fs::create_dir_all(&mount_point).expect("mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&mount_point)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !mounted {
            return None;
        }
        self.db = mount_point.join("lulu.db");
        self.small_disk = Some(mount_point);
        Some(self)
    }

    /// Fills the small disk (see [`on_small_disk`](Self::on_small_disk)) to the last byte.
    pub fn fill_disk(&self) {
        use std::io::Write as _;
        let disk = self.small_disk.as_ref().expect("a sandbox on a small disk");
        let mut filler = std::fs::File::create(disk.join("filler")).expect("filler file");
        let block = vec![0_u8; 4096];
        while filler.write_all(&block).is_ok() {}
        let _ = filler.write_all(&[0]);
    }

    /// Makes room on the small disk again.
    pub fn free_disk(&self) {
        let disk = self.small_disk.as_ref().expect("a sandbox on a small disk");
        std::fs::remove_file(disk.join("filler")).expect("filler removed");
    }

    /// Adds an environment variable to every `lulu` command.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.extra_env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A `lulu` command in this world.
    pub fn lulu(&self, args: &[&str]) -> Command {
        self.wrapped(&[], args)
    }

    /// `wrapper... lulu args` in this world: `lulu` run through another program that
    /// execs it (such as `prlimit --nofile=N:N --`), with this world's environment.
    pub fn wrapped(&self, wrapper: &[&str], args: &[&str]) -> Command {
        let mut command = match wrapper.split_first() {
            Some((program, wrapper_args)) => {
                let mut command = Command::new(program);
                command.args(wrapper_args).arg(lulu_bin());
                command
            }
            None => Command::new(lulu_bin()),
        };
        command
            .args(args)
            .current_dir(&self.work)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("TMPDIR", self.dir.path())
            .env("LULU_DB", &self.db)
            .env("LULU_CLAUDE_BIN", crate::fake_claude())
            .env("CLAUDE_CONFIG_DIR", &self.claude_config)
            .env("NO_COLOR", "1")
            .env("FAKE_CLAUDE_TICK_MS", "100")
            // The daemon logs here (`lulu.db.daemon.log`); failures show its tail.
            .env("RUST_LOG", "info")
            .stdin(Stdio::null());
        for (name, value) in &self.extra_env {
            command.env(name, value);
        }
        command
    }

    /// Runs `lulu args` to completion (within [`PATIENCE`]).
    pub fn run(&self, args: &[&str]) -> Output {
        let child = self.spawn(args);
        self.finish(child)
    }

    /// Runs a `lulu` command built with [`Self::lulu`] (or [`Self::wrapped`]) and adjusted by the test, to
    /// completion (within [`PATIENCE`]).
    pub fn run_command(&self, command: Command) -> Output {
        let child = spawn_piped(command);
        self.finish(child)
    }

    /// Starts `lulu args` with piped output.
    pub fn spawn(&self, args: &[&str]) -> Child {
        spawn_piped(self.lulu(args))
    }

    /// Starts `lulu args` with its stdin and stderr on a new terminal (a pty) and stdout
    /// piped; returns it with the terminal's other end, to read what it asks and answer.
    pub fn spawn_on_terminal(&self, args: &[&str]) -> (Child, std::fs::File) {
        let pty = nix::pty::openpty(None, None).expect("a pty");
        // Not inherited past the child's own stdin and stderr (by the daemon it starts, or by
        // other tests' children): the terminal ends when the run ends.
        for fd in [&pty.master, &pty.slave] {
            nix::fcntl::fcntl(
                fd,
                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
            )
            .expect("close-on-exec");
        }
        let mut command = self.lulu(args);
        let input = pty.slave.try_clone().expect("the pty's slave side");
        command
            .stdin(Stdio::from(input))
            .stderr(Stdio::from(pty.slave))
            .stdout(Stdio::piped());
        let mut own = own_children().lock().unwrap();
        let child = command.spawn().expect("lulu starts");
        own.insert(child.id().cast_signed());
        // Our copies of the slave side close with `command`: the child holds the terminal.
        drop(command);
        (child, std::fs::File::from(pty.master))
    }

    /// Waits for a spawned `lulu` (within [`PATIENCE`], else kills it and fails) and
    /// collects its output.
    #[allow(clippy::unused_self)] // reads as `sandbox.finish(child)` beside `sandbox.spawn(..)`
    pub fn finish(&self, mut child: Child) -> Output {
        let pid = child.id().cast_signed();
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let began = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("lulu can be waited for") {
                break status;
            }
            if began.elapsed() > PATIENCE {
                let _ = child.kill();
                let _ = child.wait();
                panic!("lulu {pid} did not finish within {PATIENCE:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        own_children().lock().unwrap().remove(&pid);
        Output {
            status,
            stdout: stdout.join().expect("stdout reader"),
            stderr: stderr.join().expect("stderr reader"),
        }
    }

    /// Runs `lulu args` and expects exit 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "lulu {args:?} failed: {:?}\nstdout: {}\nstderr: {}\nowners log (tail):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            self.owners_log_tail()
        );
        String::from_utf8(output.stdout).expect("utf-8 output")
    }

    /// The last lines the daemon logged.
    pub fn owners_log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.db.with_file_name("lulu.db.daemon.log"))
            .unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// `lulu show ID --json`.
    pub fn show(&self, id: &str) -> Value {
        serde_json::from_str(&self.ok(&["show", id, "--json"])).expect("show --json is JSON")
    }

    /// `lulu run --detach PROMPT` in the work dir; returns the session id.
    pub fn detach(&self, prompt: &str) -> String {
        self.ok(&["run", "--detach", prompt]).trim().to_owned()
    }

    /// Starts `lulu run --detach PROMPT` for every prompt at once; returns the session ids
    /// in prompt order.
    pub fn detach_all(&self, prompts: impl IntoIterator<Item = String>) -> Vec<String> {
        let starters: Vec<Child> = prompts
            .into_iter()
            .map(|prompt| self.spawn(&["run", "--detach", &prompt]))
            .collect();
        starters
            .into_iter()
            .map(|child| {
                let output = self.finish(child);
                assert!(output.status.success(), "{output:?}");
                String::from_utf8(output.stdout).unwrap().trim().to_owned()
            })
            .collect()
    }

    /// Polls `show` until `pred` holds (within [`PATIENCE`]); returns the last value.
    pub fn wait_for(&self, id: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let began = Instant::now();
        loop {
            let session = self.show(id);
            if pred(&session) {
                return session;
            }
            assert!(
                began.elapsed() < PATIENCE,
                "session {id} never became {what}: {session:#}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls until the database holds a session; returns the newest one's id.
    pub fn wait_for_newest_session(&self) -> String {
        let mut id = None;
        wait_until("a session is stored", || {
            let listed: Value =
                serde_json::from_str(&self.ok(&["list", "--json"])).expect("list --json is JSON");
            id = listed[0]["id"].as_str().map(str::to_owned);
            id.is_some()
        });
        id.expect("a session")
    }

    /// Polls until the session runs its agent; returns the agent's pid.
    pub fn wait_for_agent(&self, id: &str) -> i32 {
        let session = self.wait_for(id, "running its agent", |session| {
            session["status"] == "running" && !session["runs"][0]["pid"].is_null()
        });
        let pid = session["runs"][0]["pid"].as_i64().expect("a pid");
        i32::try_from(pid).expect("pids fit in i32")
    }

    /// Runs two copies of `lulu args` at once; asserts exactly one succeeded and returns
    /// the other's output.
    pub fn race(&self, args: &[&str]) -> Output {
        let first = self.spawn(args);
        let second = self.spawn(args);
        let outcomes = [self.finish(first), self.finish(second)];
        let succeeded = outcomes
            .iter()
            .filter(|output| output.status.success())
            .count();
        assert_eq!(
            succeeded, 1,
            "exactly one of two concurrent `{args:?}` proceeds: {outcomes:?}"
        );
        outcomes
            .into_iter()
            .find(|output| !output.status.success())
            .expect("one was refused")
    }

    /// `lulu interrupt ID`, expecting a clean interrupt: reported `interrupted`, stored
    /// `interrupted`, and no error stored (a timed-out interrupt stores one; the forceful
    /// retry is silent). Returns the session.
    pub fn interrupt_cleanly(&self, id: &str) -> Value {
        let output = self.ok(&["interrupt", id]);
        assert!(output.starts_with("interrupted"), "{output}");
        let session = self.show(id);
        assert_eq!(session["status"], "interrupted");
        assert_eq!(session["last_error"], Value::Null, "{session:#}");
        session
    }

    /// Polls until the session has this status.
    pub fn wait_status(&self, id: &str, status: &str) -> Value {
        self.wait_for(id, status, |session| session["status"] == status)
    }

    /// Every process whose environment names this sandbox's database: owners, agents,
    /// tools (they all inherit `LULU_DB`).
    pub fn processes(&self) -> Vec<i32> {
        let marker = format!("LULU_DB={}", self.db.display());
        processes_with_env(&marker)
    }

    /// The daemons of this sandbox that are alive (not zombies).
    pub fn daemons(&self) -> Vec<i32> {
        self.processes()
            .into_iter()
            .filter(|pid| is_daemon(*pid))
            .collect()
    }

    /// Stops this sandbox's daemon, if one runs (refused while it owns live runs).
    pub fn stop_daemon(&self) {
        let output = self.run(&["daemon", "stop"]);
        assert!(
            output.status.success(),
            "`lulu daemon stop` failed: {output:?}\ndaemon log (tail):\n{}",
            self.owners_log_tail()
        );
    }

    /// Stops the daemon, then waits until no process of this sandbox is left (reaping
    /// those that come back to us).
    pub fn assert_nothing_left(&self) {
        self.stop_daemon();
        let began = Instant::now();
        loop {
            reap_orphans();
            let left = self.processes();
            if left.is_empty() {
                return;
            }
            assert!(
                began.elapsed() < PATIENCE,
                "processes left behind: {}",
                describe(&left)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for pid in self.processes() {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let began = Instant::now();
        while !self.processes().is_empty() && began.elapsed() < Duration::from_secs(5) {
            reap_orphans();
            std::thread::sleep(Duration::from_millis(10));
        }
        reap_orphans();
        if let Some(disk) = &self.small_disk {
            let _ = Command::new("umount").arg("-l").arg(disk).status();
        }
    }
}

/// Starts `command` with piped output, remembered as one of this binary's own children.
fn spawn_piped(mut command: Command) -> Child {
    // Held across the spawn, so a reaping pass never takes a child not yet remembered.
    let mut own = own_children().lock().unwrap();
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lulu starts");
    own.insert(child.id().cast_signed());
    child
}

/// Reads a pipe to its end on a thread of its own.
fn drain(pipe: Option<impl std::io::Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// Polls `condition` until it holds (within [`PATIENCE`]).
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let began = Instant::now();
    while !condition() {
        assert!(began.elapsed() < PATIENCE, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Replaces session/run ids and timestamps with stable placeholders, for snapshots.
pub fn redact(text: &str) -> String {
    let uuid =
        regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").unwrap();
    let short = regex::Regex::new(r"\b[0-9a-f]{8}\b").unwrap();
    let time = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z").unwrap();
    let ago = regex::Regex::new(r"(just now|\d+ (s|min|h|d) ago)").unwrap();
    let money = regex::Regex::new(r"\d+\.\d+ s\b|\d+ ms\b").unwrap();
    let pid = regex::Regex::new(
        r#""pid": \d+|\bpid \d+| +\d{1,7}(  (completed|interrupted|failed|running))"#,
    )
    .unwrap();
    let sandbox = regex::Regex::new(r#"[^\s"]*lulu-system-[A-Za-z0-9]+"#).unwrap();
    let text = sandbox.replace_all(text, "[sandbox]");
    let text = uuid.replace_all(&text, "[id]");
    let text = time.replace_all(&text, "[time]");
    let text = short.replace_all(&text, "[short]");
    let text = ago.replace_all(&text, "[ago]");
    let text = money.replace_all(&text, "[duration]");
    pid.replace_all(&text, |caps: &regex::Captures<'_>| match caps.get(1) {
        // The padding goes too: pids of different widths read the same.
        Some(rest) => format!("  [pid]{}", rest.as_str()),
        None if caps[0].starts_with("pid") => "pid [pid]".to_owned(),
        None => "\"pid\": [pid]".to_owned(),
    })
    .into_owned()
}
