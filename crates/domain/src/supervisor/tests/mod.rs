//! Supervisor behaviour under fakes and mocks, with tokio's paused clock (no real sleeps).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mockall::predicate::eq;
use mockall::Sequence;
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

use super::*;
use crate::agent::{AgentEvent, RunUpdate};
use crate::input::Prompt;
use crate::lifecycle::RunChange;
use crate::lifecycle::{ConversationMode, StopMode};
use crate::ports::{
    BroadcastUpdates, LaunchError, LocalSlots, MockAgentLauncher, MockRunControl, MockSessionStore,
    MockUpdatePublisher, RunHandle, StoreError,
};
use crate::session::{FailureKind, RunKind, RunOutcome, RunUsage};
use crate::testing::{
    spec, wait_for_status, FakeLauncher, FakeRun, Journal, MemoryStore, SequentialIds,
    StopResponse, TestClock,
};

const PATIENCE: Duration = Duration::from_secs(60);

struct Harness {
    supervisor: SessionSupervisor,
    store: MemoryStore,
    journal: Journal,
    launched: mpsc::UnboundedReceiver<FakeRun>,
}

fn harness(stop_response: StopResponse) -> Harness {
    harness_with(stop_response, 8, None)
}

fn harness_with(
    stop_response: StopResponse,
    max_running: usize,
    failure: Option<LaunchError>,
) -> Harness {
    let clock = TestClock::new();
    let journal = Journal::timed(clock);
    let store = MemoryStore::with_journal(journal.clone());
    let (mut launcher, launched) = FakeLauncher::new(stop_response, journal.clone());
    if let Some(error) = failure {
        launcher = launcher.failing_with(error);
    }
    let ports = Ports {
        store: Arc::new(store.clone()),
        launcher: Arc::new(launcher),
        clock: Arc::new(clock),
        ids: Arc::new(SequentialIds::default()),
        updates: Arc::new(BroadcastUpdates::default()),
        slots: Arc::new(LocalSlots::new(max_running)),
    };
    Harness {
        supervisor: SessionSupervisor::new(ports, SupervisorConfig::default()),
        store,
        journal,
        launched,
    }
}

/// A supervisor over these adapters, with a test clock, sequential ids and 8 run slots.
fn supervisor_over(
    store: Arc<dyn crate::ports::SessionStore>,
    launcher: Arc<dyn crate::ports::AgentLauncher>,
    updates: Arc<dyn crate::ports::UpdatePublisher>,
) -> SessionSupervisor {
    let ports = Ports {
        store,
        launcher,
        clock: Arc::new(TestClock::new()),
        ids: Arc::new(SequentialIds::default()),
        updates,
        slots: Arc::new(LocalSlots::new(8)),
    };
    SessionSupervisor::new(ports, SupervisorConfig::default())
}

impl Harness {
    async fn next_launch(&mut self) -> FakeRun {
        timeout(PATIENCE, self.launched.recv())
            .await
            .expect("a run was launched in time")
            .expect("the launcher lives")
    }

    async fn becomes(&self, id: SessionId, status: SessionStatus) -> Session {
        timeout(PATIENCE, wait_for_status(&self.store, id, status))
            .await
            .expect("status reached in time")
    }

    /// Starts a session and waits until its agent runs and has said hello.
    async fn running(&mut self, prompt: &str) -> (SessionId, FakeRun) {
        let session = self.supervisor.start(spec(prompt)).await.expect("stored");
        let run = self.next_launch().await;
        run.emit(init()).await;
        self.becomes(session.id, SessionStatus::Running).await;
        (session.id, run)
    }

    /// Waits until the agent's `init` is stored (the conversation is established).
    async fn established(&self, id: SessionId) {
        timeout(PATIENCE, async {
            while !self
                .store
                .session(id)
                .await
                .unwrap()
                .is_some_and(|session| session.agent_established)
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("established in time");
    }

    async fn settled(&self, id: SessionId) -> Session {
        timeout(PATIENCE, self.supervisor.wait_until_settled(id))
            .await
            .expect("settled in time")
            .expect("readable")
    }
}

fn init() -> AgentEvent {
    AgentEvent::Init {
        model: "claude-opus-4-8".into(),
        cwd: "/srv/app".into(),
        version: "2.1.197".into(),
        tools: vec!["Bash".into()],
    }
}

fn result(cost_usd: f64) -> AgentEvent {
    AgentEvent::Result {
        subtype: "success".into(),
        is_error: false,
        text: Some("done".into()),
        errors: Vec::new(),
        terminal_reason: Some("completed".into()),
        usage: RunUsage {
            cost_usd,
            input_tokens: 1000,
            output_tokens: 50,
            num_turns: 1,
            duration_ms: 700,
            permission_denials: 1,
        },
        permission_denials: vec![crate::PermissionDenial {
            tool_name: "Bash".into(),
            tool_use_id: "toolu_1".into(),
            input_json: r#"{"command":"touch notes.md"}"#.into(),
        }],
    }
}

async fn complete(run: &FakeRun, cost_usd: f64) {
    run.emit(AgentEvent::AssistantText {
        text: "done".into(),
    })
    .await;
    run.emit(result(cost_usd)).await;
    run.exit(RunOutcome::Completed, 0).await;
}

fn prompt(text: &str) -> Prompt {
    Prompt::parse(text).unwrap()
}

#[tokio::test(start_paused = true)]
async fn sessions_beyond_the_limit_wait_queued_and_start_in_order() {
    let mut h = harness_with(StopResponse::ExitOnGraceful, 1, None);
    let (a, run_a) = h.running("first").await;
    let b = h.supervisor.start(spec("second")).await.unwrap().id;
    let c = h.supervisor.start(spec("third")).await.unwrap().id;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        h.launched.try_recv().is_err(),
        "nothing launched beyond the limit"
    );
    assert_eq!(
        h.store.session(b).await.unwrap().unwrap().status,
        SessionStatus::Queued
    );

    complete(&run_a, 0.1).await;
    h.settled(a).await;
    let run_b = h.next_launch().await;
    assert_eq!(run_b.spec.session_id, b);
    assert!(h.launched.try_recv().is_err(), "c still waits for b");
    complete(&run_b, 0.1).await;
    assert_eq!(h.next_launch().await.spec.session_id, c);
}

#[tokio::test(start_paused = true)]
async fn a_launch_failure_fails_the_session_with_the_reason() {
    let error = LaunchError::WorkingDirMissing {
        cwd: "/srv/gone".into(),
    };
    let h = harness_with(StopResponse::ExitOnGraceful, 8, Some(error));
    let id = h.supervisor.start(spec("hello")).await.unwrap().id;

    let failed = h.settled(id).await;

    assert_eq!(failed.status, SessionStatus::Failed);
    assert_eq!(
        failed.last_error.as_deref(),
        Some("the working directory `/srv/gone` does not exist or is not a directory")
    );
    let run = &h.store.runs(id).await.unwrap()[0];
    assert!(matches!(
        run.outcome,
        Some(RunOutcome::Failed {
            kind: FailureKind::LaunchFailed,
            ..
        })
    ));
}

#[tokio::test(start_paused = true)]
async fn a_run_whose_output_ends_without_an_exit_is_failed_as_crashed() {
    let mut h = harness(StopResponse::ExitOnGraceful);
    let (id, run) = h.running("hello").await;
    drop(run);

    let crashed = h.settled(id).await;

    assert_eq!(crashed.status, SessionStatus::Failed);
    assert_eq!(
        crashed.last_error.as_deref(),
        Some("the agent's output ended without an exit status")
    );
}

#[tokio::test(start_paused = true)]
async fn lifecycle_start_then_complete() {
    let mut h = harness(StopResponse::ExitOnGraceful);
    let (id, run) = h.running("write a haiku").await;
    tokio::time::advance(Duration::from_millis(500)).await;
    complete(&run, 0.01).await;
    h.settled(id).await;
    insta::assert_snapshot!(h.journal.text());
}

#[tokio::test(start_paused = true)]
async fn lifecycle_start_interrupt_resume_complete() {
    let mut h = harness(StopResponse::ExitOnGraceful);
    let (id, _first) = h.running("refactor the module").await;
    tokio::time::advance(Duration::from_secs(3)).await;
    h.supervisor.interrupt(id).await.unwrap();
    tokio::time::advance(Duration::from_secs(60)).await;
    h.supervisor
        .resume(
            id,
            prompt("carry on, but keep the API"),
            OptionOverrides::default(),
        )
        .await
        .unwrap();
    let second = h.next_launch().await;
    second.emit(init()).await;
    complete(&second, 0.02).await;
    h.settled(id).await;
    insta::assert_snapshot!(h.journal.text());
}

#[tokio::test(start_paused = true)]
async fn lifecycle_interrupt_that_times_out() {
    let mut h = harness(StopResponse::Never);
    let (id, run) = h.running("never stop").await;
    let error = h.supervisor.interrupt(id).await.unwrap_err();
    assert!(matches!(error, SupervisorError::InterruptTimedOut { .. }));
    tokio::time::advance(Duration::from_secs(1)).await;
    complete(&run, 0.03).await;
    h.settled(id).await;
    insta::assert_snapshot!(h.journal.text());
}

mod approvals;
mod follow_ups;
mod interrupt;
mod operations;
mod storage;
mod turn_end;
