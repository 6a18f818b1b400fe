//! Fakes for tests (this crate's, and others' with the `mocks` feature): a clock driven by
//! tokio's paused time, predictable ids, an in-memory store, a scripted launcher, and a
//! journal that records what the supervisor asked of them, in order.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use tokio::time::Instant;
use uuid::Uuid;

use crate::ids::{RunId, SessionId};
use crate::input::{AgentOptions, Prompt, WorkingDir};
use crate::ports::{Clock, IdGenerator, SessionStore};
use crate::session::{Session, SessionSpec, SessionStatus};

mod fake_launcher;
mod memory_store;

pub use fake_launcher::{FakeLauncher, FakeRun, StopResponse};
pub use memory_store::MemoryStore;

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
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

/// A pending `Bash` permission request with this id, for `command`.
pub fn approval_request(request_id: &str, command: &str) -> crate::approval::ApprovalRequest {
    crate::approval::ApprovalRequest {
        request_id: request_id.to_owned(),
        tool_name: "Bash".to_owned(),
        input_json: format!(r#"{{"command":"{command}"}}"#),
        description: Some("mock-requested command".to_owned()),
        blocked_path: None,
        suggestions_json: None,
        requested_at: epoch(),
    }
}

/// The agent's `can_use_tool` request for `Bash` running `command`, as the adapter reports it.
pub fn permission_request_event(request_id: &str, command: &str) -> crate::agent::AgentEvent {
    crate::agent::AgentEvent::PermissionRequest {
        request_id: request_id.into(),
        tool_name: "Bash".into(),
        input_json: format!(r#"{{"command":"{command}"}}"#),
        description: Some("mock-requested command".into()),
        blocked_path: Some("/srv/app/notes.md".into()),
        suggestions_json: None,
    }
}

/// A successful turn's `result` line: one turn, 100 tokens in, 10 out, costing `cost_usd`.
pub fn turn_result_event(cost_usd: f64) -> crate::agent::AgentEvent {
    crate::agent::AgentEvent::Result {
        subtype: "success".into(),
        is_error: false,
        text: None,
        errors: Vec::new(),
        terminal_reason: Some("completed".into()),
        usage: crate::session::RunUsage {
            cost_usd,
            input_tokens: 100,
            output_tokens: 10,
            num_turns: 1,
            duration_ms: 5,
            permission_denials: 0,
        },
        permission_denials: Vec::new(),
    }
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
