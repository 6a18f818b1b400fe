//! Interrupts: graceful, forceful, given up, while starting or queued, and immediate.

use super::*;
use crate::InterruptMode;

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
pub(super) fn launcher_with_control(
    control: MockRunControl,
) -> (MockAgentLauncher, mpsc::Sender<RunUpdate>) {
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
    let stops = interrupt_while_starting(InterruptMode::Graceful).await;
    assert_eq!(stops, vec![StopMode::Graceful]);
}

#[tokio::test(start_paused = true)]
async fn a_forced_interrupt_while_the_agent_starts_stops_it_forcefully_and_never_gracefully() {
    let stops = interrupt_while_starting(InterruptMode::Immediate).await;
    assert_eq!(stops, vec![StopMode::Forceful]);
}

/// Interrupts (in `mode`) a session whose agent is still starting, lets the agent start,
/// and returns the stops it got (its run exits at the first).
async fn interrupt_while_starting(mode: InterruptMode) -> Vec<StopMode> {
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
        async move { supervisor.interrupt_in_mode(id, mode).await }
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
    let runs = store.runs(id).await.unwrap();
    assert_eq!(runs[0].pid, Some(4242), "the spawned agent is on record");
    drop(updates);
    let stops = stops.lock().unwrap().clone();
    stops
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
async fn an_immediate_interrupt_hurries_the_graceful_one_under_way_to_the_forceful_stop() {
    let (harness, id, run) = running_until_forced().await;
    let graceful = tokio::spawn({
        let supervisor = harness.supervisor.clone();
        async move { supervisor.interrupt(id).await }
    });
    wait_for_status(&harness.store, id, SessionStatus::Interrupting).await;
    let began = Instant::now();

    let immediate = interrupt_now(&harness, id).await;

    assert_eq!(immediate.status, SessionStatus::Interrupted);
    assert!(
        Instant::now() - began < Duration::from_secs(2),
        "the grace period was skipped"
    );
    assert_eq!(run.stops(), vec![StopMode::Graceful, StopMode::Forceful]);
    let first = timeout(PATIENCE, graceful).await.unwrap().unwrap().unwrap();
    assert_eq!(first.status, SessionStatus::Interrupted);
}

#[tokio::test(start_paused = true)]
async fn an_immediate_interrupt_alone_stops_forcefully_without_waiting_for_the_grace() {
    let (harness, id, run) = running_until_forced().await;
    let began = Instant::now();

    let session = interrupt_now(&harness, id).await;

    assert_eq!(session.status, SessionStatus::Interrupted);
    assert_eq!(Instant::now() - began, Duration::ZERO, "no grace waited");
    assert_eq!(run.stops(), vec![StopMode::Graceful, StopMode::Forceful]);
}

/// A running session whose agent only a forceful stop ends.
async fn running_until_forced() -> (Harness, SessionId, FakeRun) {
    let mut harness = harness(StopResponse::ExitOnForceful);
    let id = harness.supervisor.start(spec("work")).await.unwrap().id;
    let run = harness.launched.recv().await.expect("launched");
    wait_for_status(&harness.store, id, SessionStatus::Running).await;
    (harness, id, run)
}

/// An immediate interrupt of `id`, which must answer with the settled session.
async fn interrupt_now(harness: &Harness, id: SessionId) -> Session {
    harness
        .supervisor
        .interrupt_in_mode(id, crate::InterruptMode::Immediate)
        .await
        .expect("the immediate interrupt answers with the settled session")
}
