//! Permission requests under fakes and mocks, with tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use mockall::Sequence;
use tokio::sync::mpsc;
use tokio::time::timeout;

use super::*;
use crate::agent::{AgentEvent, RunUpdate};
use crate::approval::{ApprovalAnswer, ApprovalChange, ApprovalClosing};
use crate::lifecycle::StopMode;
use crate::ports::{
    BroadcastUpdates, LocalSlots, MockRunControl, MockSessionStore, MockUpdatePublisher,
    SessionStore,
};
use crate::session::RunOutcome;
use crate::testing::{
    spec, wait_for_status, FakeLauncher, FakeRun, Journal, MemoryStore, SequentialIds,
    StopResponse, TestClock,
};

const PATIENCE: Duration = Duration::from_secs(60);

/// What a stored write must show, besides its status.
type Check = fn(&SessionWrite) -> bool;

fn supervisor(
    store: Arc<dyn SessionStore>,
    launcher: Arc<dyn AgentLauncher>,
    updates: Arc<dyn UpdatePublisher>,
    approval_timeout: Option<Duration>,
) -> SessionSupervisor {
    let ports = Ports {
        store,
        launcher,
        clock: Arc::new(TestClock::new()),
        ids: Arc::new(SequentialIds::default()),
        updates,
        slots: Arc::new(LocalSlots::new(8)),
    };
    let config = SupervisorConfig {
        approval_timeout,
        ..SupervisorConfig::default()
    };
    SessionSupervisor::new(ports, config)
}

use crate::testing::permission_request_event as permission_request;

struct Fakes {
    supervisor: SessionSupervisor,
    store: MemoryStore,
    launched: mpsc::UnboundedReceiver<FakeRun>,
}

fn fakes(stop_response: StopResponse, approval_timeout: Option<Duration>) -> Fakes {
    let store = MemoryStore::default();
    let (launcher, launched) = FakeLauncher::new(stop_response, Journal::default());
    let supervisor = supervisor(
        Arc::new(store.clone()),
        Arc::new(launcher),
        Arc::new(BroadcastUpdates::default()),
        approval_timeout,
    );
    Fakes {
        supervisor,
        store,
        launched,
    }
}

impl Fakes {
    /// Starts a session whose agent asks permission for `touch notes.md` as `r1`.
    async fn asking(&mut self) -> (SessionId, FakeRun) {
        let id = self
            .supervisor
            .start(spec("PERMIT touch notes.md"))
            .await
            .unwrap()
            .id;
        let run = timeout(PATIENCE, self.launched.recv())
            .await
            .unwrap()
            .unwrap();
        self.becomes(id, SessionStatus::Running).await;
        run.emit(permission_request("r1", "touch notes.md")).await;
        self.becomes(id, SessionStatus::NeedsApproval).await;
        (id, run)
    }

    async fn becomes(&self, id: SessionId, status: SessionStatus) -> Session {
        timeout(PATIENCE, wait_for_status(&self.store, id, status))
            .await
            .expect("status reached in time")
    }
}

#[tokio::test(start_paused = true)]
async fn a_request_and_its_answer_are_stored_before_they_are_announced_and_answered() {
    let mut order = Sequence::new();
    let mut store = MockSessionStore::new();
    let mut updates = MockUpdatePublisher::new();
    let mut control = MockRunControl::new();
    store.expect_append_events().returning(|_| Ok(()));
    updates
        .expect_publish()
        .withf(|update| matches!(update, SessionUpdate::Transcript { .. }))
        .return_const(());
    let steps: [(SessionStatus, Check); 5] = [
        (SessionStatus::Queued, |_| true),
        (SessionStatus::Starting, |_| true),
        (SessionStatus::Running, |write| {
            write.approval_change.is_none()
        }),
        (
            SessionStatus::NeedsApproval,
            |write| matches!(&write.approval_change, Some(ApprovalChange::Requested(request)) if request.request_id == "r1"),
        ),
        (
            SessionStatus::Running,
            |write| matches!(&write.approval_change, Some(ApprovalChange::Closed { request_ids, closing: ApprovalClosing::Answered(ApprovalAnswer::Allow) }) if request_ids == &["r1"]),
        ),
    ];
    for (n, (status, change)) in steps.into_iter().enumerate() {
        store
            .expect_save()
            .withf(move |write| write.session.status == status && change(write))
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(()));
        updates
            .expect_publish()
            .withf(move |update| matches!(update, SessionUpdate::Session(s) if s.status == status))
            .times(1)
            .in_sequence(&mut order)
            .return_const(());
        if n == 4 {
            // The answer reaches the agent once it is stored and announced.
            control
                .expect_answer()
                .withf(|request, answer| {
                    request.request_id == "r1" && *answer == ApprovalAnswer::Allow
                })
                .times(1)
                .in_sequence(&mut order)
                .returning(|_, _| Ok(()));
        }
    }
    let (launcher, sender) = super::interrupt::launcher_with_control(control);
    let (saved, announced) = (Arc::new(store), Arc::new(updates));
    let supervisor = supervisor(saved, Arc::new(launcher), announced, None);
    let id = supervisor
        .start(spec("PERMIT touch notes.md"))
        .await
        .unwrap()
        .id;
    sender
        .send(RunUpdate::Event(permission_request("r1", "touch notes.md")))
        .await
        .unwrap();

    let answered = timeout(PATIENCE, async {
        loop {
            match supervisor.answer(id, None, ApprovalAnswer::Allow).await {
                Err(SupervisorError::NoPendingApproval { .. }) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                other => break other,
            }
        }
    })
    .await
    .expect("the request became pending in time")
    .expect("answered");

    assert_eq!(answered.status, SessionStatus::Running);
    assert!(answered.pending_approvals.is_empty());
    drop(sender);
    drop(supervisor); // verifies every expectation was met exactly, in order
}

#[tokio::test(start_paused = true)]
async fn two_answers_to_one_request_are_one_answer_and_one_clear_refusal() {
    let mut f = fakes(StopResponse::ExitOnGraceful, None);
    let (id, run) = f.asking().await;
    let first = f.supervisor.clone();
    let second = f.supervisor.clone();
    let (a, b) = tokio::join!(
        first.answer(id, Some("r1".into()), ApprovalAnswer::Allow),
        second.answer(
            id,
            Some("r1".into()),
            ApprovalAnswer::Deny { message: None }
        ),
    );
    let outcomes = [a.is_ok(), b.is_ok()];
    assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 1, "{outcomes:?}");
    let refusal = a.err().or(b.err()).unwrap();
    assert_eq!(
        refusal.to_string(),
        format!("session {id} has no pending permission request r1: it was already answered, cancelled by the agent, or its turn ended")
    );
    assert_eq!(run.answers().len(), 1, "the agent got exactly one answer");
    assert_eq!(
        f.store.session(id).await.unwrap().unwrap().status,
        SessionStatus::Running
    );
}

#[tokio::test(start_paused = true)]
async fn several_requests_are_answered_one_by_one_oldest_first() {
    let mut f = fakes(StopResponse::ExitOnGraceful, None);
    let (id, run) = f.asking().await;
    run.emit(permission_request("r2", "rm -rf build")).await;
    timeout(PATIENCE, async {
        while f
            .store
            .session(id)
            .await
            .unwrap()
            .unwrap()
            .pending_approvals
            .len()
            < 2
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .unwrap();
    let after_one = f
        .supervisor
        .answer(id, None, ApprovalAnswer::AllowAlways)
        .await
        .unwrap();
    assert_eq!(after_one.status, SessionStatus::NeedsApproval);
    assert_eq!(after_one.pending_approvals[0].request_id, "r2");
    let stop = ApprovalAnswer::DenyAndStop {
        message: Some("no".into()),
    };
    let after_two = f.supervisor.answer(id, None, stop.clone()).await.unwrap();
    assert_eq!(after_two.status, SessionStatus::Running);
    assert_eq!(
        run.answers(),
        vec![
            ("r1".to_owned(), ApprovalAnswer::AllowAlways),
            ("r2".to_owned(), stop)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_request_the_agent_cancels_or_its_turn_clears_is_no_longer_answerable() {
    let mut f = fakes(StopResponse::ExitOnGraceful, None);
    let (id, run) = f.asking().await;
    run.emit(AgentEvent::PermissionCancelled {
        request_id: "r1".into(),
    })
    .await;
    f.becomes(id, SessionStatus::Running).await;
    let refused = f.supervisor.answer(id, None, ApprovalAnswer::Allow).await;
    assert!(matches!(
        refused,
        Err(SupervisorError::NoPendingApproval { .. })
    ));

    run.emit(permission_request("r2", "touch b")).await;
    f.becomes(id, SessionStatus::NeedsApproval).await;
    run.emit(AgentEvent::Result {
        subtype: "success".into(),
        is_error: false,
        text: None,
        errors: Vec::new(),
        terminal_reason: None,
        usage: crate::session::RunUsage::default(),
        permission_denials: Vec::new(),
    })
    .await;
    f.becomes(id, SessionStatus::Running).await;
    assert!(run.answers().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_request_is_denied_when_the_approval_timeout_passes() {
    let after = Duration::from_secs(30 * 60);
    let mut f = fakes(StopResponse::ExitOnGraceful, Some(after));
    let began = tokio::time::Instant::now();
    let (id, run) = f.asking().await;
    tokio::time::sleep(after.saturating_sub(Duration::from_secs(1))).await;
    assert!(run.answers().is_empty(), "not before the deadline");

    let answered = f.becomes(id, SessionStatus::Running).await;

    assert!(began.elapsed() >= after);
    assert!(answered.pending_approvals.is_empty());
    let [(
        request_id,
        ApprovalAnswer::Deny {
            message: Some(message),
        },
    )] = &run.answers()[..]
    else {
        panic!("one denial expected, got {:?}", run.answers());
    };
    assert_eq!(request_id, "r1");
    assert!(
        message.contains("within 30 min (LULU_APPROVAL_TIMEOUT)"),
        "{message}"
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_timeout_a_request_waits_as_long_as_it_takes() {
    let mut f = fakes(StopResponse::ExitOnGraceful, None);
    let (id, run) = f.asking().await;
    tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
    assert!(run.answers().is_empty());
    assert_eq!(
        f.store.session(id).await.unwrap().unwrap().status,
        SessionStatus::NeedsApproval
    );
}

#[tokio::test(start_paused = true)]
async fn interrupting_a_session_that_needs_approval_ends_it_interrupted() {
    let mut f = fakes(StopResponse::ExitOnGraceful, None);
    let (id, run) = f.asking().await;

    let interrupted = timeout(PATIENCE, f.supervisor.interrupt(id))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(interrupted.status, SessionStatus::Interrupted);
    assert!(interrupted.pending_approvals.is_empty());
    assert_eq!(run.stops(), vec![StopMode::Graceful]);
    let refused = f.supervisor.answer(id, None, ApprovalAnswer::Allow).await;
    assert!(matches!(
        refused,
        Err(SupervisorError::NoPendingApproval { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn a_run_ending_with_a_request_pending_clears_it() {
    let mut f = fakes(StopResponse::ExitOnGraceful, None);
    let (id, run) = f.asking().await;
    run.exit(RunOutcome::Completed, 0).await;
    let settled = timeout(PATIENCE, f.supervisor.wait_until_settled(id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(settled.status, SessionStatus::Completed);
    assert!(settled.pending_approvals.is_empty());
}
