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
async fn interrupt_of_one_session_leaves_the_other_running() {
    let mut h = harness(StopResponse::ExitOnGraceful);
    let (a, run_a) = h.running("task A").await;
    let (b, run_b) = h.running("task B").await;

    let interrupted = h.supervisor.interrupt(a).await.expect("interrupted");

    assert_eq!(interrupted.status, SessionStatus::Interrupted);
    assert_eq!(run_a.stops(), vec![StopMode::Graceful]);
    assert!(run_b.stops().is_empty(), "B was never asked to stop");
    assert_eq!(
        h.store.session(b).await.unwrap().unwrap().status,
        SessionStatus::Running
    );
    complete(&run_b, 0.25).await;
    let b_done = h.settled(b).await;
    assert_eq!(b_done.status, SessionStatus::Completed);
    assert!((b_done.totals.cost_usd - 0.25).abs() < 1e-9);
}

/// A launcher whose single run never exits, stopped through a strict mock.
fn launcher_with_control(control: MockRunControl) -> (MockAgentLauncher, mpsc::Sender<RunUpdate>) {
    let (updates, receiver) = mpsc::channel(8);
    let handle = Arc::new(Mutex::new(Some(RunHandle {
        pid: 4242,
        updates: receiver,
        control: Arc::new(control),
    })));
    let mut launcher = MockAgentLauncher::new();
    launcher
        .expect_launch()
        .times(1)
        .returning(move |_| Ok(handle.lock().unwrap().take().expect("launched once")));
    (launcher, updates)
}

/// A launcher whose one launch takes until `release` is notified.
struct SlowLauncher {
    release: Arc<tokio::sync::Notify>,
    handle: Mutex<Option<RunHandle>>,
}

#[async_trait::async_trait]
impl crate::ports::AgentLauncher for SlowLauncher {
    async fn launch(&self, _spec: crate::ports::RunSpec) -> Result<RunHandle, LaunchError> {
        self.release.notified().await;
        Ok(self.handle.lock().unwrap().take().expect("launched once"))
    }
}

#[tokio::test(start_paused = true)]
async fn an_interrupt_while_the_agent_starts_stops_it_as_soon_as_it_exists() {
    let (updates, receiver) = mpsc::channel(8);
    let stops: Arc<Mutex<Vec<StopMode>>> = Arc::default();
    let mut control = MockRunControl::new();
    let (recorded, exits) = (Arc::clone(&stops), updates.clone());
    control.expect_stop().returning(move |mode| {
        recorded.lock().unwrap().push(mode);
        let exits = exits.clone();
        tokio::spawn(async move {
            let exit = crate::agent::RunExit {
                outcome: RunOutcome::Interrupted,
                exit_code: Some(0),
            };
            let _ = exits.send(RunUpdate::Exited(exit)).await;
        });
        Ok(())
    });
    let release = Arc::new(tokio::sync::Notify::new());
    let launcher = SlowLauncher {
        release: Arc::clone(&release),
        handle: Mutex::new(Some(RunHandle {
            pid: 4242,
            updates: receiver,
            control: Arc::new(control),
        })),
    };
    let store = MemoryStore::default();
    let supervisor = supervisor_over(
        Arc::new(store.clone()),
        Arc::new(launcher),
        Arc::new(BroadcastUpdates::default()),
    );
    let id = supervisor.start(spec("slow to start")).await.unwrap().id;
    timeout(
        PATIENCE,
        wait_for_status(&store, id, SessionStatus::Starting),
    )
    .await
    .expect("starting in time");

    let interrupt = tokio::spawn({
        let supervisor = supervisor.clone();
        async move { supervisor.interrupt(id).await }
    });
    timeout(
        PATIENCE,
        wait_for_status(&store, id, SessionStatus::Interrupting),
    )
    .await
    .expect("the interrupt is taken while the agent starts");
    assert!(stops.lock().unwrap().is_empty(), "nothing to stop yet");
    release.notify_one();

    let interrupted = timeout(PATIENCE, interrupt)
        .await
        .expect("answered in time")
        .unwrap()
        .expect("interrupted");
    assert_eq!(interrupted.status, SessionStatus::Interrupted);
    assert_eq!(*stops.lock().unwrap(), vec![StopMode::Graceful]);
    let runs = store.runs(id).await.unwrap();
    assert_eq!(runs[0].pid, Some(4242), "the spawned agent is on record");
    drop(updates);
}

#[tokio::test(start_paused = true)]
async fn an_agent_ignoring_stops_gets_exactly_one_forceful_retry_and_the_interrupt_gives_up_at_ten_seconds(
) {
    let calls: Arc<Mutex<Vec<(StopMode, Instant)>>> = Arc::default();
    let mut control = MockRunControl::new();
    let mut order = Sequence::new();
    for mode in [StopMode::Graceful, StopMode::Forceful] {
        let calls = Arc::clone(&calls);
        control
            .expect_stop()
            .with(eq(mode))
            .times(1)
            .in_sequence(&mut order)
            .returning(move |mode| {
                calls.lock().unwrap().push((mode, Instant::now()));
                Ok(())
            });
    }
    let (launcher, updates) = launcher_with_control(control);
    let store = MemoryStore::default();
    let supervisor = supervisor_over(
        Arc::new(store.clone()),
        Arc::new(launcher),
        Arc::new(BroadcastUpdates::default()),
    );
    let id = supervisor
        .start(spec("ignore every stop"))
        .await
        .unwrap()
        .id;
    wait_for_status(&store, id, SessionStatus::Running).await;

    let began = Instant::now();
    let error = supervisor.interrupt(id).await.unwrap_err();

    assert_eq!(
        error,
        SupervisorError::InterruptTimedOut {
            id,
            after: Duration::from_secs(10)
        }
    );
    assert_eq!(
        Instant::now() - began,
        Duration::from_secs(10),
        "gave up exactly at the deadline"
    );
    let offsets: Vec<(StopMode, Duration)> = calls
        .lock()
        .unwrap()
        .iter()
        .map(|(mode, at)| (*mode, *at - began))
        .collect();
    assert_eq!(
        offsets,
        vec![
            (StopMode::Graceful, Duration::ZERO),
            (StopMode::Forceful, Duration::from_secs(2))
        ]
    );
    let session = store.session(id).await.unwrap().unwrap();
    assert_eq!(session.status, SessionStatus::Running);
    assert_eq!(
        session.last_error.as_deref(),
        Some("interrupt timed out after 10 s; the agent is still running")
    );
    drop(updates);
}

#[tokio::test(start_paused = true)]
async fn resume_continues_the_same_row_with_a_new_run_in_history() {
    let mut h = harness(StopResponse::ExitOnGraceful);
    let (id, first) = h.running("write the parser").await;
    complete(&first, 0.5).await;
    let done = h.settled(id).await;
    assert_eq!(done.status, SessionStatus::Completed);

    tokio::time::advance(Duration::from_secs(30)).await;
    let queued = h
        .supervisor
        .resume(id, prompt("now add tests"))
        .await
        .expect("resumed");
    let second = h.next_launch().await;
    second.emit(init()).await;
    complete(&second, 0.25).await;
    let resumed = h.settled(id).await;

    assert_eq!(queued.status, SessionStatus::Queued);
    assert_eq!(second.spec.session_id, id, "same conversation id");
    assert_eq!(second.spec.mode, ConversationMode::Resume);
    assert_eq!(second.spec.prompt, prompt("now add tests"));
    assert_ne!(second.spec.run_id, first.spec.run_id);
    assert_eq!(resumed.id, id);
    assert_eq!(resumed.status, SessionStatus::Completed);
    assert_eq!(resumed.resume_count, 1);
    assert_eq!(resumed.active_run_id, Some(second.spec.run_id));
    assert_eq!(resumed.last_resume_at, Some(queued.updated_at));
    assert!(resumed.last_resume_at > Some(done.updated_at));
    assert_eq!(resumed.created_at, done.created_at);
    assert!(
        (resumed.totals.cost_usd - 0.75).abs() < 1e-9,
        "costs of both runs add up"
    );
    assert_eq!(resumed.totals.num_turns, 2);
    assert_eq!(
        resumed.totals.permission_denials, 2,
        "refused tool calls add up over runs"
    );
    let runs = h.store.runs(id).await.unwrap();
    let history: Vec<_> = runs
        .iter()
        .map(|run| (run.id, run.kind, run.outcome.clone()))
        .collect();
    assert_eq!(
        history,
        vec![
            (
                first.spec.run_id,
                RunKind::Start,
                Some(RunOutcome::Completed)
            ),
            (
                second.spec.run_id,
                RunKind::Resume,
                Some(RunOutcome::Completed)
            ),
        ]
    );
    assert_eq!(
        h.store
            .list_sessions(&crate::ports::SessionQuery::default())
            .await
            .unwrap()
            .len(),
        1,
        "no new session row"
    );
}

#[tokio::test(start_paused = true)]
async fn a_second_operation_on_a_session_is_refused_while_the_first_is_in_flight() {
    let mut h = harness(StopResponse::ExitOnForceful);
    let (id, run) = h.running("slow to stop").await;
    let (other, _other_run) = h.running("unrelated").await;
    let interrupt = tokio::spawn({
        let supervisor = h.supervisor.clone();
        async move { supervisor.interrupt(id).await }
    });
    h.becomes(id, SessionStatus::Interrupting).await;

    assert_eq!(
        h.supervisor.resume(id, prompt("too soon")).await,
        Err(SupervisorError::OperationInProgress(id))
    );
    assert_eq!(
        h.supervisor.interrupt(id).await,
        Err(SupervisorError::OperationInProgress(id))
    );
    let other_done = h
        .supervisor
        .interrupt(other)
        .await
        .expect("other sessions never wait");
    assert_eq!(other_done.status, SessionStatus::Interrupted);

    let interrupted = interrupt
        .await
        .unwrap()
        .expect("the first operation finishes");
    assert_eq!(interrupted.status, SessionStatus::Interrupted);
    assert_eq!(run.stops(), vec![StopMode::Graceful, StopMode::Forceful]);
    let resumed = h
        .supervisor
        .resume(id, prompt("now"))
        .await
        .expect("accepted right after");
    assert_eq!(resumed.status, SessionStatus::Queued);
    assert_eq!(h.next_launch().await.spec.session_id, id);
}

#[tokio::test(start_paused = true)]
async fn every_change_is_stored_before_it_is_announced() {
    let mut order = Sequence::new();
    let mut store = MockSessionStore::new();
    let mut updates = MockUpdatePublisher::new();
    for status in [
        SessionStatus::Queued,
        SessionStatus::Starting,
        SessionStatus::Failed,
    ] {
        store
            .expect_save()
            .withf(move |write| write.session.status == status)
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(()));
        updates
            .expect_publish()
            .withf(move |update| matches!(update, SessionUpdate::Session(s) if s.status == status))
            .times(1)
            .in_sequence(&mut order)
            .return_const(());
    }
    let (launcher, _launched) = FakeLauncher::new(StopResponse::ExitOnGraceful, Journal::default());
    let launcher = launcher.failing_with(LaunchError::BinaryNotFound {
        binary: "claude".into(),
    });
    let supervisor = supervisor_over(Arc::new(store), Arc::new(launcher), Arc::new(updates));

    let id = supervisor.start(spec("hello")).await.unwrap().id;
    let failed = timeout(PATIENCE, supervisor.wait_until_settled(id))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(failed.status, SessionStatus::Failed);
    assert!(failed
        .last_error
        .unwrap()
        .contains("`claude` was not found"));
    drop(supervisor); // verifies every expectation was met exactly
}

#[tokio::test(start_paused = true)]
async fn a_change_the_store_refuses_is_never_announced() {
    let mut store = MockSessionStore::new();
    store.expect_save().returning(|_| {
        Err(StoreError::Full {
            message: "database or disk is full".into(),
        })
    });
    let mut updates = MockUpdatePublisher::new();
    updates.expect_publish().never();
    let mut launcher = MockAgentLauncher::new();
    launcher.expect_launch().never();
    let supervisor = supervisor_over(Arc::new(store), Arc::new(launcher), Arc::new(updates));

    let error = supervisor.start(spec("hello")).await.unwrap_err();

    assert!(matches!(
        error,
        SupervisorError::Store(StoreError::Full { .. })
    ));
    assert!(supervisor.live_sessions().is_empty());
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
async fn interrupting_a_queued_session_settles_it_without_launching() {
    let mut h = harness_with(StopResponse::ExitOnGraceful, 1, None);
    let (a, run_a) = h.running("first").await;
    let b = h.supervisor.start(spec("second")).await.unwrap().id;

    let interrupted = h
        .supervisor
        .interrupt(b)
        .await
        .expect("interrupted at once");
    complete(&run_a, 0.1).await;
    h.settled(a).await;

    assert_eq!(interrupted.status, SessionStatus::Interrupted);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(h.launched.try_recv().is_err(), "b was never launched");
    let runs = h.store.runs(b).await.unwrap();
    assert_eq!(runs[0].outcome, Some(RunOutcome::Interrupted));
    assert_eq!(runs[0].pid, None);
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
async fn transcript_lines_are_stored_in_order_before_they_are_announced() {
    let mut h = harness(StopResponse::ExitOnGraceful);
    let mut updates = h.supervisor.subscribe();
    let (id, run) = h.running("hello").await;
    complete(&run, 0.1).await;
    h.settled(id).await;

    let stored = h.store.events();
    let seqs: Vec<u64> = stored.iter().map(|entry| entry.seq).collect();
    assert_eq!(seqs, vec![0, 1, 2]);
    let kinds: Vec<&str> = stored.iter().map(|entry| entry.event.kind()).collect();
    assert_eq!(kinds, vec!["init", "assistant_text", "result"]);
    let mut announced = Vec::new();
    while let Ok(update) = updates.try_recv() {
        if let SessionUpdate::Transcript { entries, .. } = update {
            announced.extend(entries);
        }
    }
    assert_eq!(announced, stored);
}

#[tokio::test(start_paused = true)]
async fn a_run_ending_on_a_full_disk_is_reported_and_stored_once_space_returns() {
    let mut h = harness(StopResponse::ExitOnGraceful);
    let mut updates = h.supervisor.subscribe();
    let (id, run) = h.running("hello").await;
    h.established(id).await;
    h.store.set_full(true);
    complete(&run, 0.1).await;

    // Subscribers (a foreground `lulu run`) learn the end could not be stored: no hang.
    let (status, reason) = timeout(PATIENCE, async {
        loop {
            if let Ok(SessionUpdate::EndNotStored {
                session_id,
                status,
                reason,
            }) = updates.recv().await
            {
                assert_eq!(session_id, id);
                return (status, reason);
            }
        }
    })
    .await
    .expect("told in time");
    assert_eq!(status, SessionStatus::Completed);
    assert!(reason.contains("full"), "{reason}");
    // An interrupt meanwhile tells the truth: the agent is gone, its end is not stored.
    let refused = h.supervisor.interrupt(id).await.unwrap_err();
    assert!(
        matches!(
            refused,
            SupervisorError::EndNotStored {
                status: SessionStatus::Completed,
                ..
            }
        ),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("already exited"), "{refused}");
    assert_eq!(
        h.store.session(id).await.unwrap().unwrap().status,
        SessionStatus::Running
    );

    // Space returns: the owner's retries store the end, with the lines that were lost.
    h.store.set_full(false);
    let settled = h.settled(id).await;
    assert_eq!(settled.status, SessionStatus::Completed);
    let stored = h.store.session(id).await.unwrap().unwrap();
    assert_eq!(stored.status, SessionStatus::Completed);
    assert_eq!(
        stored.lost_events, 2,
        "the assistant text and the result were lost"
    );
    assert!(h.supervisor.live_sessions().is_empty());
}

#[tokio::test(start_paused = true)]
async fn lost_transcript_lines_are_counted_on_the_session_as_soon_as_it_can_be_written() {
    let mut h = harness(StopResponse::ExitOnGraceful);
    let (id, run) = h.running("hello").await;
    h.established(id).await;
    h.store.set_full(true);
    run.emit(AgentEvent::AssistantText {
        text: "lost".into(),
    })
    .await;
    // The batch is given up after its attempts; nothing of it is stored.
    tokio::time::sleep(Duration::from_secs(30)).await;
    h.store.set_full(false);
    run.emit(AgentEvent::AssistantText {
        text: "kept".into(),
    })
    .await;
    timeout(PATIENCE, async {
        while h.store.session(id).await.unwrap().unwrap().lost_events == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the loss was recorded while the run was still live");
    assert_eq!(
        h.store.session(id).await.unwrap().unwrap().status,
        SessionStatus::Running
    );
    run.emit(result(0.1)).await;
    run.exit(RunOutcome::Completed, 0).await;
    let settled = h.settled(id).await;
    assert_eq!(settled.lost_events, 1);
    let texts: Vec<&str> = h
        .store
        .events()
        .iter()
        .map(|entry| entry.event.kind())
        .collect();
    assert_eq!(texts, vec!["init", "assistant_text", "result"]);
}

#[tokio::test(start_paused = true)]
async fn resume_and_interrupt_of_unknown_or_idle_sessions_are_refused_clearly() {
    let mut h = harness(StopResponse::ExitOnGraceful);
    let unknown = crate::testing::session_id(99);
    assert_eq!(
        h.supervisor.interrupt(unknown).await,
        Err(SupervisorError::NotFound(unknown))
    );
    let (id, run) = h.running("hello").await;
    assert_eq!(
        h.supervisor.resume(id, prompt("x")).await,
        Err(SupervisorError::NotResumable {
            id,
            status: SessionStatus::Running
        })
    );
    complete(&run, 0.0).await;
    h.settled(id).await;
    assert_eq!(
        h.supervisor.interrupt(id).await,
        Err(SupervisorError::NotRunning {
            id,
            status: SessionStatus::Completed
        })
    );
}

#[tokio::test(start_paused = true)]
async fn a_session_whose_owner_died_is_recovered_as_interrupted_with_the_reason() {
    let h = harness(StopResponse::ExitOnGraceful);
    let (mut orphan, run) = Session::queued(
        crate::testing::session_id(7),
        crate::testing::run_id(7),
        spec("left behind"),
        crate::testing::epoch(),
    );
    orphan.status = SessionStatus::Running;
    let write = SessionWrite {
        session: orphan.clone(),
        run_change: Some(RunChange::Created(run)),
    };
    h.store.save(&write).await.unwrap();

    let reason = "its owner (lulu pid 4711) died; the agent was stopped".to_owned();
    let recovered = h
        .supervisor
        .recover(orphan.id, reason.clone())
        .await
        .unwrap();

    assert_eq!(recovered.status, SessionStatus::Interrupted);
    assert_eq!(recovered.last_error, Some(reason));
    let runs = h.store.runs(orphan.id).await.unwrap();
    assert_eq!(runs[0].outcome, Some(RunOutcome::Interrupted));
    let again = h
        .supervisor
        .recover(orphan.id, "twice".into())
        .await
        .unwrap();
    assert_eq!(
        again, recovered,
        "recovering a settled session changes nothing"
    );
}

#[tokio::test(start_paused = true)]
async fn delete_refuses_a_live_session_and_removes_a_settled_one() {
    let mut h = harness(StopResponse::ExitOnGraceful);
    let mut updates = h.supervisor.subscribe();
    let (id, run) = h.running("hello").await;
    assert_eq!(
        h.supervisor.delete(id).await,
        Err(SupervisorError::StillLive {
            id,
            status: SessionStatus::Running
        })
    );
    complete(&run, 0.0).await;
    h.settled(id).await;

    h.supervisor.delete(id).await.unwrap();

    assert_eq!(h.store.session(id).await.unwrap(), None);
    assert!(h.store.runs(id).await.unwrap().is_empty());
    assert!(h.store.events().is_empty());
    assert_eq!(
        h.supervisor.delete(id).await,
        Err(SupervisorError::NotFound(id))
    );
    let mut deleted = false;
    while let Ok(update) = updates.try_recv() {
        deleted |= update == SessionUpdate::Deleted(id);
    }
    assert!(deleted, "the deletion was announced");
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
        .resume(id, prompt("carry on, but keep the API"))
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
