//! Follow-ups to live runs under fakes, with tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::timeout;

use super::*;
use crate::agent::AgentEvent;
use crate::ports::{BroadcastUpdates, LocalSlots, SessionStore};
use crate::session::RunOutcome;
use crate::testing::{
    spec, wait_for_status, FakeLauncher, Journal, MemoryStore, SequentialIds, StopResponse,
    TestClock,
};

const PATIENCE: Duration = Duration::from_secs(60);

use crate::testing::turn_result_event as result;

#[tokio::test(start_paused = true)]
async fn a_follow_up_reaches_the_live_run_every_turn_counts_and_a_settled_session_refuses_one() {
    let store = MemoryStore::default();
    let (launcher, mut launched) =
        FakeLauncher::new(StopResponse::ExitOnGraceful, Journal::default());
    let supervisor = SessionSupervisor::new(
        Ports {
            store: Arc::new(store.clone()),
            launcher: Arc::new(launcher),
            clock: Arc::new(TestClock::new()),
            ids: Arc::new(SequentialIds::default()),
            updates: Arc::new(BroadcastUpdates::default()),
            slots: Arc::new(LocalSlots::new(8)),
        },
        SupervisorConfig::default(),
    );
    let id = supervisor.start(spec("SLOW 5")).await.unwrap().id;
    let run = timeout(PATIENCE, launched.recv()).await.unwrap().unwrap();
    timeout(
        PATIENCE,
        wait_for_status(&store, id, SessionStatus::Running),
    )
    .await
    .unwrap();

    let sent = supervisor
        .send(id, Prompt::parse("SAY second answer").unwrap())
        .await
        .unwrap();

    assert_eq!(sent.status, SessionStatus::Running);
    run.emit(result(0.25)).await;
    run.emit(result(0.5)).await;
    run.exit(RunOutcome::Completed, 0).await;
    let settled = timeout(PATIENCE, supervisor.wait_until_settled(id))
        .await
        .unwrap()
        .unwrap();
    assert!(
        (settled.totals.cost_usd - 0.75).abs() < 1e-9,
        "both turns count"
    );
    assert_eq!(settled.totals.num_turns, 2);
    let run_id = settled.active_run_id.unwrap();
    let kinds: Vec<&str> = store
        .events_after(run_id, None, 10)
        .await
        .unwrap()
        .iter()
        .map(|entry| entry.event.kind())
        .collect();
    assert_eq!(kinds, ["user_message", "result", "result"]);

    let refused = supervisor
        .send(id, Prompt::parse("too late").unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        format!("session {id} is completed and its agent takes no more messages: it has no live run; resume it to continue the conversation")
    );
}

fn kept_open(
    store: &MemoryStore,
    idle_timeout: Option<Duration>,
) -> (
    SessionSupervisor,
    tokio::sync::mpsc::UnboundedReceiver<crate::testing::FakeRun>,
) {
    let (launcher, launched) = FakeLauncher::new(StopResponse::ExitOnGraceful, Journal::default());
    let supervisor = SessionSupervisor::new(
        Ports {
            store: Arc::new(store.clone()),
            launcher: Arc::new(launcher),
            clock: Arc::new(TestClock::new()),
            ids: Arc::new(SequentialIds::default()),
            updates: Arc::new(BroadcastUpdates::default()),
            slots: Arc::new(LocalSlots::new(8)),
        },
        SupervisorConfig {
            idle_timeout,
            ..SupervisorConfig::default()
        },
    );
    (supervisor, launched)
}

fn init() -> AgentEvent {
    AgentEvent::Init {
        model: "m".into(),
        cwd: "/srv/app".into(),
        version: "2.1.197".into(),
        tools: Vec::new(),
    }
}

/// Starts a kept-open session and returns it with its run.
async fn start_kept_open(
    supervisor: &SessionSupervisor,
    launched: &mut tokio::sync::mpsc::UnboundedReceiver<crate::testing::FakeRun>,
) -> (crate::ids::SessionId, crate::testing::FakeRun) {
    let mut asked = spec("SAY first");
    asked.options.keep_open = true;
    let id = supervisor.start(asked).await.unwrap().id;
    let run = timeout(PATIENCE, launched.recv()).await.unwrap().unwrap();
    (id, run)
}

async fn becomes(store: &MemoryStore, id: crate::ids::SessionId, status: SessionStatus) {
    timeout(PATIENCE, wait_for_status(store, id, status))
        .await
        .expect("status reached in time");
}

#[tokio::test(start_paused = true)]
async fn a_kept_open_run_idles_between_turns_takes_a_follow_up_and_ends_when_closed() {
    let store = MemoryStore::default();
    let (supervisor, mut launched) = kept_open(&store, None);
    let (id, run) = start_kept_open(&supervisor, &mut launched).await;
    run.emit(init()).await;
    run.emit(result(0.25)).await;
    becomes(&store, id, SessionStatus::Idle).await;

    supervisor
        .send(id, Prompt::parse("SAY second").unwrap())
        .await
        .unwrap();
    run.emit(init()).await;
    becomes(&store, id, SessionStatus::Running).await;
    let not_idle = supervisor.close(id).await.unwrap_err();
    assert!(
        matches!(not_idle, SupervisorError::NotIdle { .. }),
        "{not_idle}"
    );
    run.emit(result(0.5)).await;
    becomes(&store, id, SessionStatus::Idle).await;

    supervisor.close(id).await.unwrap();

    let settled = timeout(PATIENCE, supervisor.wait_until_settled(id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(settled.status, SessionStatus::Completed);
    assert_eq!(settled.totals.num_turns, 2);
}

#[tokio::test(start_paused = true)]
async fn a_kept_open_run_idle_past_the_timeout_is_closed() {
    let store = MemoryStore::default();
    let after = Duration::from_secs(30 * 60);
    let (supervisor, mut launched) = kept_open(&store, Some(after));
    let (id, run) = start_kept_open(&supervisor, &mut launched).await;
    run.emit(init()).await;
    let before_idle = tokio::time::Instant::now();
    run.emit(result(0.25)).await;
    becomes(&store, id, SessionStatus::Idle).await;
    tokio::time::sleep(after.saturating_sub(Duration::from_secs(1))).await;
    assert_eq!(
        store.session(id).await.unwrap().unwrap().status,
        SessionStatus::Idle,
        "not closed before the timeout"
    );

    let settled = timeout(after, supervisor.wait_until_settled(id))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(settled.status, SessionStatus::Completed);
    assert!(before_idle.elapsed() >= after);
}

#[tokio::test(start_paused = true)]
async fn a_turn_end_and_the_next_turn_read_together_leave_a_kept_open_run_running() {
    let store = MemoryStore::default();
    let (supervisor, mut launched) = kept_open(&store, None);
    let (id, run) = start_kept_open(&supervisor, &mut launched).await;
    becomes(&store, id, SessionStatus::Running).await;

    // A follow-up queued while the first turn streamed: its turn starts right away.
    run.emit(init()).await;
    run.emit(result(0.25)).await;
    run.emit(init()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    assert_eq!(
        store.session(id).await.unwrap().unwrap().status,
        SessionStatus::Running
    );
    run.emit(result(0.25)).await;
    becomes(&store, id, SessionStatus::Idle).await;
}

#[tokio::test(start_paused = true)]
async fn a_kept_open_run_counts_each_turn_as_it_ends_stored_and_announced_and_never_twice() {
    let store = MemoryStore::default();
    let (supervisor, mut launched) = kept_open(&store, None);
    let mut updates = supervisor.subscribe();
    let (id, run) = start_kept_open(&supervisor, &mut launched).await;
    run.emit(init()).await;

    run.emit(result(0.25)).await;
    becomes(&store, id, SessionStatus::Idle).await;

    let stored = store.session(id).await.unwrap().unwrap();
    assert_eq!(stored.totals.num_turns, 1, "stored while the run lives");
    assert!((stored.totals.cost_usd - 0.25).abs() < 1e-9);
    let announced = loop {
        match timeout(PATIENCE, updates.recv()).await.unwrap().unwrap() {
            crate::ports::SessionUpdate::Session(session)
                if session.status == SessionStatus::Idle =>
            {
                break session;
            }
            _ => {}
        }
    };
    assert_eq!(
        announced.totals, stored.totals,
        "announced with the turn counted"
    );
    supervisor.close(id).await.unwrap();
    let settled = timeout(PATIENCE, supervisor.wait_until_settled(id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        settled.totals, stored.totals,
        "counted once, not again at the end"
    );
}
