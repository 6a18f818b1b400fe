//! Fakes for tests (this crate's, and others' with the `mocks` feature): a clock driven by
//! tokio's paused time, predictable ids, an in-memory store, a scripted launcher, and a
//! journal that records what the supervisor asked of them, in order.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use tokio::sync::mpsc;
use tokio::time::Instant;
use uuid::Uuid;

use crate::agent::{RunExit, RunUpdate, TranscriptEntry};
use crate::ids::{RunId, SessionId};
use crate::input::{AgentOptions, Prompt, WorkingDir};
use crate::lifecycle::{ConversationMode, RunChange, StopMode};
use crate::ports::{
    AgentLauncher, Clock, IdGenerator, LaunchError, RunControl, RunHandle, RunSpec, SessionQuery,
    SessionStore, SessionWrite, StopError, StoreError,
};
use crate::session::{Run, RunOutcome, Session, SessionSpec, SessionStatus};

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The wall time every test clock starts at: 2026-01-01T00:00:00Z.
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid date")
}

/// A clock whose wall time is [`epoch`] plus tokio's elapsed time: with
/// `#[tokio::test(start_paused = true)]` both advance together, instantly and exactly.
#[derive(Debug, Clone, Copy)]
pub struct TestClock {
    origin: Instant,
}

impl TestClock {
    /// A clock at [`epoch`] now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }

    /// Monotonic time elapsed since the clock was made.
    pub fn elapsed(&self) -> std::time::Duration {
        Instant::now() - self.origin
    }
}

impl Default for TestClock {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        epoch() + chrono::Duration::from_std(self.elapsed()).expect("test durations fit")
    }

    fn monotonic(&self) -> Instant {
        Instant::now()
    }

    async fn sleep_until(&self, deadline: Instant) {
        tokio::time::sleep_until(deadline).await;
    }
}

/// Ids that read well in snapshots: session n is `a000000n-…`, run n is `b000000n-…`.
#[derive(Debug, Default)]
pub struct SequentialIds {
    sessions: Mutex<u32>,
    runs: Mutex<u32>,
}

/// The `n`th id of a family (`0xa` sessions, `0xb` runs).
fn numbered(family: u32, n: u32) -> Uuid {
    Uuid::from_u128(u128::from((family << 28) | n) << 96)
}

/// Session number `n` as [`SequentialIds`] makes it.
pub fn session_id(n: u32) -> SessionId {
    SessionId::from_uuid(numbered(0xa, n))
}

/// Run number `n` as [`SequentialIds`] makes it.
pub fn run_id(n: u32) -> RunId {
    RunId::from_uuid(numbered(0xb, n))
}

impl IdGenerator for SequentialIds {
    fn session_id(&self) -> SessionId {
        let mut next = lock(&self.sessions);
        *next += 1;
        session_id(*next)
    }

    fn run_id(&self) -> RunId {
        let mut next = lock(&self.runs);
        *next += 1;
        run_id(*next)
    }
}

/// A spec for a session in `/srv/app` with the given prompt.
pub fn spec(prompt: &str) -> SessionSpec {
    SessionSpec {
        title: None,
        cwd: WorkingDir::parse("/srv/app").expect("absolute"),
        prompt: Prompt::parse(prompt).expect("not blank"),
        options: AgentOptions::default(),
    }
}

/// A stored-looking session number `n` (completed figures filled in), for projections.
pub fn sample_session(n: u32) -> Session {
    let (mut session, _) = Session::queued(
        session_id(n),
        run_id(n),
        spec("Fix the failing test in parser.rs"),
        epoch(),
    );
    session.totals.cost_usd = 0.0973;
    session.totals.input_tokens = 19_458;
    session.totals.output_tokens = 312;
    session.totals.num_turns = 2;
    session
}

/// An ordered record of what fakes were asked to do, for step-by-step snapshots.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    lines: Arc<Mutex<Vec<String>>>,
    clock: Option<TestClock>,
}

impl Journal {
    /// A journal that stamps each line with `clock`'s elapsed time.
    pub fn timed(clock: TestClock) -> Self {
        Self {
            lines: Arc::default(),
            clock: Some(clock),
        }
    }

    /// Appends one line.
    pub fn record(&self, line: impl Into<String>) {
        let line = line.into();
        let line = match &self.clock {
            Some(clock) => format!("{:>7.3}s  {line}", clock.elapsed().as_secs_f64()),
            None => line,
        };
        lock(&self.lines).push(line);
    }

    /// Everything recorded so far, one line each.
    pub fn text(&self) -> String {
        lock(&self.lines).join("\n")
    }
}

#[derive(Debug, Default)]
struct StoreState {
    sessions: HashMap<SessionId, Session>,
    runs: Vec<Run>,
    events: Vec<TranscriptEntry>,
}

/// A working in-memory [`SessionStore`] that journals every write.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<StoreState>>,
    journal: Journal,
}

impl MemoryStore {
    /// A store that records its writes in `journal`.
    pub fn with_journal(journal: Journal) -> Self {
        Self {
            state: Arc::default(),
            journal,
        }
    }

    /// Every stored transcript entry, in append order.
    pub fn events(&self) -> Vec<TranscriptEntry> {
        lock(&self.state).events.clone()
    }
}

fn describe_write(write: &SessionWrite) -> String {
    let session = &write.session;
    let mut line = format!(
        "store   {} status={} resume_count={} active_run={}",
        session.id.short(),
        session.status,
        session.resume_count,
        session
            .active_run_id
            .map_or_else(|| "-".into(), |id| id.short()),
    );
    if session.agent_established {
        line.push_str(" established");
    }
    if let Some(error) = &session.last_error {
        let _ = write!(line, " last_error={error:?}");
    }
    let _ = match &write.run_change {
        None => Ok(()),
        Some(RunChange::Created(run)) => {
            write!(line, " + new {} run {}", run.kind.as_str(), run.id.short())
        }
        Some(RunChange::Spawned { run_id, pid }) => {
            write!(line, " + run {} pid={pid}", run_id.short())
        }
        Some(RunChange::Ended {
            run_id,
            outcome,
            exit_code,
            ..
        }) => {
            let exit = exit_code.map_or_else(|| "-".into(), |code| code.to_string());
            write!(
                line,
                " + run {} ended {} exit={exit}",
                run_id.short(),
                outcome.label()
            )
        }
    };
    line
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn save(&self, write: &SessionWrite) -> Result<(), StoreError> {
        self.journal.record(describe_write(write));
        let mut state = lock(&self.state);
        state
            .sessions
            .insert(write.session.id, write.session.clone());
        match &write.run_change {
            None => {}
            Some(RunChange::Created(run)) => state.runs.push(run.clone()),
            Some(RunChange::Spawned { run_id, pid }) => {
                let run = find_run(&mut state.runs, *run_id)?;
                run.pid = Some(*pid);
            }
            Some(RunChange::Ended {
                run_id,
                ended_at,
                outcome,
                exit_code,
            }) => {
                let run = find_run(&mut state.runs, *run_id)?;
                run.ended_at = Some(*ended_at);
                run.outcome = Some(outcome.clone());
                run.exit_code = *exit_code;
            }
        }
        Ok(())
    }

    async fn session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        Ok(lock(&self.state).sessions.get(&id).cloned())
    }

    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<Session>, StoreError> {
        let state = lock(&self.state);
        let mut sessions: Vec<Session> = state
            .sessions
            .values()
            .filter(|session| query.status.is_none_or(|status| session.status == status))
            .cloned()
            .collect();
        sessions.sort_by_key(|session| std::cmp::Reverse(session.updated_at));
        sessions.truncate(query.limit.unwrap_or(usize::MAX));
        Ok(sessions)
    }

    async fn runs(&self, session_id: SessionId) -> Result<Vec<Run>, StoreError> {
        let state = lock(&self.state);
        Ok(state
            .runs
            .iter()
            .filter(|run| run.session_id == session_id)
            .cloned()
            .collect())
    }

    async fn append_events(&self, entries: &[TranscriptEntry]) -> Result<(), StoreError> {
        if let Some(first) = entries.first() {
            self.journal.record(format!(
                "store   {} transcript lines of run {} from seq {}",
                entries.len(),
                first.run_id.short(),
                first.seq
            ));
        }
        lock(&self.state).events.extend_from_slice(entries);
        Ok(())
    }

    async fn events_after(
        &self,
        run_id: RunId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<TranscriptEntry>, StoreError> {
        let state = lock(&self.state);
        Ok(state
            .events
            .iter()
            .filter(|entry| entry.run_id == run_id && after.is_none_or(|after| entry.seq > after))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn delete_session(&self, id: SessionId) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        let existed = state.sessions.remove(&id).is_some();
        let run_ids: Vec<RunId> = state
            .runs
            .iter()
            .filter(|run| run.session_id == id)
            .map(|run| run.id)
            .collect();
        state.runs.retain(|run| run.session_id != id);
        state
            .events
            .retain(|entry| !run_ids.contains(&entry.run_id));
        Ok(existed)
    }
}

fn find_run(runs: &mut [Run], run_id: RunId) -> Result<&mut Run, StoreError> {
    runs.iter_mut()
        .find(|run| run.id == run_id)
        .ok_or_else(|| StoreError::NotFound {
            what: format!("run {run_id}"),
        })
}

/// How a [`FakeLauncher`]'s runs answer stop requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopResponse {
    /// A graceful stop ends the run (exit code 0, interrupted).
    ExitOnGraceful,
    /// Only a forceful stop ends the run (exit code 137, interrupted).
    ExitOnForceful,
    /// No stop ever takes effect.
    Never,
}

/// A [`AgentLauncher`] whose runs the test drives by hand through [`FakeRun`]s.
#[derive(Debug, Clone)]
pub struct FakeLauncher {
    launched: mpsc::UnboundedSender<FakeRun>,
    stop_response: StopResponse,
    failure: Option<LaunchError>,
    journal: Journal,
    next_pid: Arc<Mutex<u32>>,
}

/// One launched fake run: emit events and end it from the test.
#[derive(Debug, Clone)]
pub struct FakeRun {
    /// What the supervisor asked to launch.
    pub spec: RunSpec,
    /// Its fake process id.
    pub pid: u32,
    updates: mpsc::Sender<RunUpdate>,
    stops: Arc<Mutex<Vec<StopMode>>>,
}

impl FakeRun {
    /// Emits one agent event.
    pub async fn emit(&self, event: crate::agent::AgentEvent) {
        let _ = self.updates.send(RunUpdate::Event(event)).await;
    }

    /// Ends the run.
    pub async fn exit(&self, outcome: RunOutcome, exit_code: i32) {
        let exit = RunExit {
            outcome,
            exit_code: Some(exit_code),
        };
        let _ = self.updates.send(RunUpdate::Exited(exit)).await;
    }

    /// The stop requests received so far, in order.
    pub fn stops(&self) -> Vec<StopMode> {
        lock(&self.stops).clone()
    }
}

impl FakeLauncher {
    /// A launcher whose runs answer stops per `stop_response`; launched runs arrive on the receiver.
    pub fn new(
        stop_response: StopResponse,
        journal: Journal,
    ) -> (Self, mpsc::UnboundedReceiver<FakeRun>) {
        let (launched, receiver) = mpsc::unbounded_channel();
        let launcher = Self {
            launched,
            stop_response,
            failure: None,
            journal,
            next_pid: Arc::new(Mutex::new(100)),
        };
        (launcher, receiver)
    }

    /// Makes every launch fail with `error`.
    #[must_use]
    pub fn failing_with(mut self, error: LaunchError) -> Self {
        self.failure = Some(error);
        self
    }
}

#[async_trait]
impl AgentLauncher for FakeLauncher {
    async fn launch(&self, spec: RunSpec) -> Result<RunHandle, LaunchError> {
        let mode = match spec.mode {
            ConversationMode::New => "--session-id",
            ConversationMode::Resume => "--resume",
        };
        self.journal.record(format!(
            "launch  run {} {mode} {} in {}",
            spec.run_id.short(),
            spec.session_id.short(),
            spec.cwd
        ));
        if let Some(error) = &self.failure {
            return Err(error.clone());
        }
        let pid = {
            let mut next = lock(&self.next_pid);
            *next += 1;
            *next
        };
        let (updates, receiver) = mpsc::channel(64);
        let stops = Arc::new(Mutex::new(Vec::new()));
        let control = FakeControl {
            updates: updates.downgrade(),
            stops: Arc::clone(&stops),
            response: self.stop_response,
            journal: self.journal.clone(),
        };
        let run = FakeRun {
            spec,
            pid,
            updates,
            stops,
        };
        let _ = self.launched.send(run);
        Ok(RunHandle {
            pid,
            updates: receiver,
            control: Arc::new(control),
        })
    }
}

struct FakeControl {
    // Weak, like a real process's stop handle: it must not keep the output stream open.
    updates: mpsc::WeakSender<RunUpdate>,
    stops: Arc<Mutex<Vec<StopMode>>>,
    response: StopResponse,
    journal: Journal,
}

#[async_trait]
impl RunControl for FakeControl {
    async fn stop(&self, mode: StopMode) -> Result<(), StopError> {
        self.journal
            .record(format!("stop    {mode:?}").to_lowercase());
        lock(&self.stops).push(mode);
        let exit_code = match (self.response, mode) {
            (StopResponse::ExitOnGraceful, StopMode::Graceful) => 0,
            (StopResponse::ExitOnGraceful | StopResponse::ExitOnForceful, StopMode::Forceful) => {
                137
            }
            (StopResponse::ExitOnForceful | StopResponse::Never, StopMode::Graceful)
            | (StopResponse::Never, StopMode::Forceful) => return Ok(()),
        };
        let exit = RunExit {
            outcome: RunOutcome::Interrupted,
            exit_code: Some(exit_code),
        };
        let updates = self.updates.upgrade().ok_or(StopError::AlreadyExited)?;
        updates
            .send(RunUpdate::Exited(exit))
            .await
            .map_err(|_| StopError::AlreadyExited)
    }
}

/// Waits (with a deadline in tokio time) until `store` holds session `id` in `status`.
///
/// # Panics
/// If the status is not reached within 60 s of tokio time.
pub async fn wait_for_status(
    store: &dyn SessionStore,
    id: SessionId,
    status: SessionStatus,
) -> Session {
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Ok(Some(session)) = store.session(id).await {
            if session.status == status {
                return session;
            }
        }
        assert!(
            Instant::now() < deadline,
            "session {id} never became {status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}
