//! Shared fixtures: a sandbox per test, a launcher on fake-claude, run collection with
//! deadlines, and the checks that nothing a test started is left running.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use lulu_adapters_cli::{
    become_child_subreaper, process_start_time, still_running, CliLauncher, CliLauncherConfig,
};
use lulu_domain::ports::{AgentLauncher, RunHandle, RunSpec};
use lulu_domain::{
    AgentEvent, AgentOptions, ConversationMode, ProcessRecord, Prompt, RunExit, RunId, RunOutcome,
    RunUpdate, SessionId, WorkingDir,
};
use tokio::time::{timeout, Instant};

/// The fake agent binary.
pub const FAKE_CLAUDE: &str = env!("CARGO_BIN_EXE_fake-claude");
/// Longest any single run may take in these tests.
pub const RUN_DEADLINE: Duration = Duration::from_secs(30);
/// One `SLOW` tick in tests.
pub const TICK_MS: &str = "50";

/// A temp dir holding a test's home, agent config, tmp and working dir.
pub struct Sandbox {
    dir: tempfile::TempDir,
    /// Marks every process this test starts (through the environment).
    pub marker: String,
}

impl Sandbox {
    /// A fresh sandbox; also makes this test process a child subreaper, so orphaned
    /// tools come back to it to be killed and reaped.
    pub fn new() -> Self {
        static SUBREAPER: Once = Once::new();
        SUBREAPER.call_once(|| become_child_subreaper().expect("prctl works on Linux"));
        let dir = tempfile::tempdir().expect("a temp dir");
        for sub in ["home", "config", "tmp", "work", "elsewhere"] {
            std::fs::create_dir(dir.path().join(sub)).expect("a sandbox dir");
        }
        Self {
            dir,
            marker: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// A path inside the sandbox.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The working dir runs use by default.
    pub fn work(&self) -> WorkingDir {
        self.dir_at("work")
    }

    /// A sandbox dir as a working dir.
    pub fn dir_at(&self, name: &str) -> WorkingDir {
        WorkingDir::parse(self.path(name).to_string_lossy().into_owned()).expect("absolute")
    }

    /// The child environment: isolated home and config, fast ticks, the leak marker.
    pub fn env(&self) -> Vec<(OsString, OsString)> {
        let pairs = [
            ("HOME", self.path("home").into_os_string()),
            ("CLAUDE_CONFIG_DIR", self.path("config").into_os_string()),
            ("TMPDIR", self.path("tmp").into_os_string()),
            ("FAKE_CLAUDE_TICK_MS", TICK_MS.into()),
            ("CLAUDE_CODE_MAX_RETRIES", "2".into()),
            ("LULU_TEST_MARKER", self.marker.clone().into()),
        ];
        pairs
            .into_iter()
            .map(|(name, value)| (name.into(), value))
            .collect()
    }

    /// A launcher running fake-claude in this sandbox, recording process trees.
    pub fn launcher(&self, recorder: &Recorder) -> CliLauncher {
        CliLauncher::new(self.config(recorder))
    }

    /// The launcher config [`Self::launcher`] uses.
    pub fn config(&self, recorder: &Recorder) -> CliLauncherConfig {
        CliLauncherConfig {
            env: self.env(),
            tree_poll_interval: Duration::from_millis(50),
            observer: Some(recorder.observer()),
            ..CliLauncherConfig::with_binary(FAKE_CLAUDE)
        }
    }

    /// Launches `prompt` as a new conversation in the work dir.
    pub async fn start(&self, launcher: &impl AgentLauncher, prompt: &str) -> RunHandle {
        let run = spec(new_session(), self.work(), prompt, ConversationMode::New);
        launcher.launch(run).await.expect("the run starts")
    }

    /// Runs `prompt` as a new conversation in the work dir, to its end.
    pub async fn run(
        &self,
        launcher: &impl AgentLauncher,
        prompt: &str,
    ) -> (Vec<AgentEvent>, RunExit) {
        collect(self.start(launcher, prompt).await).await
    }

    /// Runs a first turn of `session` in the work dir and checks it completed.
    pub async fn complete_first_turn(&self, launcher: &impl AgentLauncher, session: SessionId) {
        let first = spec(
            session,
            self.work(),
            "SAY first turn",
            ConversationMode::New,
        );
        assert_eq!(
            run_to_end(launcher, first).await.1.outcome,
            RunOutcome::Completed
        );
    }

    /// Fails if any process started by this test is still running.
    pub fn assert_nothing_left(&self) {
        let left = processes_marked(&self.marker);
        assert!(left.is_empty(), "processes left running: {left:?}");
    }
}

/// Every process record an observer was told about, over all runs.
#[derive(Clone, Default)]
pub struct Recorder {
    seen: Arc<Mutex<Vec<ProcessRecord>>>,
}

impl Recorder {
    /// The observer to put in a launcher config.
    pub fn observer(&self) -> lulu_adapters_cli::ProcessObserver {
        let seen = Arc::clone(&self.seen);
        Arc::new(
            move |_session: SessionId, _run: RunId, records: Vec<ProcessRecord>| {
                let mut seen = seen.lock().expect("not poisoned");
                for record in records {
                    if !seen.contains(&record) {
                        seen.push(record);
                    }
                }
            },
        )
    }

    /// Everything recorded so far.
    pub fn records(&self) -> Vec<ProcessRecord> {
        self.seen.lock().expect("not poisoned").clone()
    }

    /// Fails unless every recorded process is gone (see [`Self::all_gone`]).
    pub fn assert_all_gone(&self) {
        for record in self.records() {
            assert!(
                gone(&record),
                "recorded process {record:?} is still there (a zombie counts): {:?}",
                still_running(&record)
            );
        }
    }

    /// Whether every recorded process is gone: `kill(pid, 0)` gives ESRCH (no zombie
    /// either), or the pid now names another process (other start time).
    pub fn all_gone(&self) -> bool {
        self.records().iter().all(gone)
    }
}

fn gone(record: &ProcessRecord) -> bool {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(record.pid).expect("pid"));
    let probe = nix::sys::signal::kill(pid, None);
    let reused = process_start_time(record.pid).is_some_and(|start| start != record.start_time);
    probe == Err(nix::errno::Errno::ESRCH) || reused
}

/// A run spec with default options.
pub fn spec(
    session_id: SessionId,
    cwd: WorkingDir,
    prompt: &str,
    mode: ConversationMode,
) -> RunSpec {
    RunSpec {
        session_id,
        run_id: RunId::from_uuid(uuid::Uuid::new_v4()),
        cwd,
        prompt: Prompt::parse(prompt).expect("a non-blank prompt"),
        options: AgentOptions::default(),
        mode,
    }
}

/// A new random session id.
pub fn new_session() -> SessionId {
    SessionId::from_uuid(uuid::Uuid::new_v4())
}

/// Launches `spec` and collects all its events and its exit.
pub async fn run_to_end(
    launcher: &impl AgentLauncher,
    spec: RunSpec,
) -> (Vec<AgentEvent>, RunExit) {
    let handle = launcher.launch(spec).await.expect("the run starts");
    collect(handle).await
}

/// Collects a handle's events and exit (within [`RUN_DEADLINE`]).
pub async fn collect(mut handle: RunHandle) -> (Vec<AgentEvent>, RunExit) {
    let mut events = Vec::new();
    let exit = timeout(RUN_DEADLINE, async {
        while let Some(update) = handle.updates.recv().await {
            match update {
                RunUpdate::Event(event) => events.push(event),
                RunUpdate::TextDelta(_) => {}
                RunUpdate::Exited(exit) => return exit,
            }
        }
        panic!("the updates ended without an exit");
    })
    .await
    .expect("the run ends in time");
    (events, exit)
}

/// Reads updates until one satisfies `wanted`; returns the events read (it included).
pub async fn events_until(
    handle: &mut RunHandle,
    wanted: impl Fn(&AgentEvent) -> bool,
) -> Vec<AgentEvent> {
    let mut events = Vec::new();
    timeout(RUN_DEADLINE, async {
        loop {
            match handle.updates.recv().await {
                Some(RunUpdate::Event(event)) => {
                    let done = wanted(&event);
                    events.push(event);
                    if done {
                        return;
                    }
                }
                Some(RunUpdate::TextDelta(_)) => {}
                other => {
                    panic!("the run ended before the awaited event: {other:?} after {events:?}")
                }
            }
        }
    })
    .await
    .expect("the awaited event arrives in time");
    events
}

/// Polls `condition` every 5 ms until it holds, failing after `limit`.
pub async fn wait_for(limit: Duration, what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Whatever happened in the test (a failed assertion included), nothing it started
/// outlives it: every process carrying its marker is killed, group and all.
impl Drop for Sandbox {
    fn drop(&mut self) {
        for pid in processes_marked(&self.marker) {
            if let Ok(pid) = i32::try_from(pid) {
                let pid = nix::unistd::Pid::from_raw(pid);
                let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
}

/// Live (non-zombie) processes whose environment carries `LULU_TEST_MARKER=<marker>`.
pub fn processes_marked(marker: &str) -> Vec<u32> {
    let needle = format!("LULU_TEST_MARKER={marker}");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            environ
                .split(|byte| *byte == 0)
                .any(|pair| pair == needle.as_bytes())
        })
        .collect()
}

/// The text of every assistant text event.
pub fn assistant_texts(events: &[AgentEvent]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|event| match event {
            AgentEvent::AssistantText { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}
