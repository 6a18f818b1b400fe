//! An interrupt whose turn ends with a `result` before the agent exits: the outcome is
//! known (stored, then announced) at the result, the exit is recorded when it comes, and
//! nothing starts a second agent on the conversation before the first one is gone.

use super::*;

/// The `result` line of a turn the interrupt cut short, with what it cost.
fn interrupted_result(cost_usd: f64) -> AgentEvent {
    AgentEvent::Result {
        subtype: "error_during_execution".into(),
        is_error: true,
        text: None,
        errors: Vec::new(),
        terminal_reason: Some("aborted_streaming".into()),
        usage: RunUsage {
            cost_usd,
            num_turns: 1,
            ..RunUsage::default()
        },
        permission_denials: Vec::new(),
    }
}

use crate::approval::{ApprovalAnswer, ApprovalRequest};
use crate::ports::{RunControl, RunSpec, StopError};

/// An agent that ends its turn at a graceful stop (the test emits the result) and exits
/// only when the test says so, stdin closed or not; it notes what it was asked.
struct Lingering {
    calls: Arc<Mutex<Vec<String>>>,
}

#[async_trait::async_trait]
impl RunControl for Lingering {
    async fn stop(&self, mode: StopMode) -> Result<(), StopError> {
        self.calls.lock().unwrap().push(format!("stop {mode:?}"));
        Ok(())
    }

    async fn answer(&self, _: &ApprovalRequest, _: &ApprovalAnswer) -> Result<(), StopError> {
        Ok(())
    }

    async fn send(&self, _: &str) -> Result<(), StopError> {
        Ok(())
    }

    async fn close_input(&self) -> Result<(), StopError> {
        self.calls.lock().unwrap().push("close stdin".to_owned());
        Ok(())
    }
}

/// One launched lingering agent.
struct Launched {
    spec: RunSpec,
    updates: mpsc::Sender<RunUpdate>,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Launched {
    async fn emit(&self, event: AgentEvent) {
        self.updates.send(RunUpdate::Event(event)).await.unwrap();
    }

    async fn exit(&self, code: i32) {
        let exit = crate::agent::RunExit {
            outcome: RunOutcome::Interrupted,
            exit_code: Some(code),
        };
        self.updates.send(RunUpdate::Exited(exit)).await.unwrap();
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

struct LingeringLauncher {
    launched: mpsc::UnboundedSender<Launched>,
}

#[async_trait::async_trait]
impl crate::ports::AgentLauncher for LingeringLauncher {
    async fn launch(&self, spec: RunSpec) -> Result<RunHandle, LaunchError> {
        let (updates, receiver) = mpsc::channel(8);
        let calls: Arc<Mutex<Vec<String>>> = Arc::default();
        let control = Lingering {
            calls: Arc::clone(&calls),
        };
        let _ = self.launched.send(Launched {
            spec,
            updates,
            calls,
        });
        Ok(RunHandle {
            pid: 4242,
            updates: receiver,
            control: Arc::new(control),
        })
    }
}

struct World {
    supervisor: SessionSupervisor,
    store: MemoryStore,
    launched: mpsc::UnboundedReceiver<Launched>,
}

impl World {
    fn new() -> Self {
        let (launched, receiver) = mpsc::unbounded_channel();
        let store = MemoryStore::default();
        let supervisor = supervisor_over(
            Arc::new(store.clone()),
            Arc::new(LingeringLauncher { launched }),
            Arc::new(BroadcastUpdates::default()),
        );
        Self {
            supervisor,
            store,
            launched: receiver,
        }
    }

    async fn next_launch(&mut self) -> Launched {
        timeout(PATIENCE, self.launched.recv())
            .await
            .unwrap()
            .unwrap()
    }

    async fn becomes(&self, id: SessionId, status: SessionStatus) {
        timeout(PATIENCE, wait_for_status(&self.store, id, status))
            .await
            .expect("status reached in time");
    }

    /// A running session whose interrupt is under way (its graceful stop delivered).
    async fn interrupting(
        &mut self,
    ) -> (
        SessionId,
        Launched,
        tokio::task::JoinHandle<Result<Session, SupervisorError>>,
    ) {
        let id = self.supervisor.start(spec("stream")).await.unwrap().id;
        let run = self.next_launch().await;
        run.emit(init()).await;
        self.becomes(id, SessionStatus::Running).await;
        let interrupt = tokio::spawn({
            let supervisor = self.supervisor.clone();
            async move { supervisor.interrupt(id).await }
        });
        self.becomes(id, SessionStatus::Interrupting).await;
        (id, run, interrupt)
    }

    /// A session interrupted at its turn's end whose agent has not exited yet.
    async fn settled_while_exiting(&mut self) -> (SessionId, Launched) {
        let (id, run, interrupt) = self.interrupting().await;
        run.emit(interrupted_result(0.0)).await;
        let interrupted = timeout(PATIENCE, interrupt).await.unwrap().unwrap();
        assert_eq!(interrupted.unwrap().status, SessionStatus::Interrupted);
        (id, run)
    }
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_turns_result_settles_the_session_before_its_agent_exits() {
    let mut w = World::new();
    let (id, run, interrupt) = w.interrupting().await;

    run.emit(interrupted_result(0.25)).await;
    let interrupted = timeout(PATIENCE, interrupt)
        .await
        .expect("answered at the turn's end")
        .unwrap()
        .expect("interrupted");

    assert_eq!(interrupted.status, SessionStatus::Interrupted);
    assert!(
        (interrupted.totals.cost_usd - 0.25).abs() < 1e-9,
        "{interrupted:?}"
    );
    assert_eq!(w.store.session(id).await.unwrap().unwrap(), interrupted);
    let runs = w.store.runs(id).await.unwrap();
    assert_eq!(runs[0].outcome, Some(RunOutcome::Interrupted));
    assert_eq!(runs[0].exit_code, None, "the agent has not exited yet");
    assert!(
        w.supervisor.live_sessions().is_empty(),
        "a settled session is not live"
    );
    assert_eq!(run.calls(), ["stop Graceful", "close stdin"]);

    // A resume now waits for the agent to be gone before it starts another.
    let resume = tokio::spawn({
        let supervisor = w.supervisor.clone();
        async move {
            supervisor
                .resume(id, prompt("go on"), OptionOverrides::default())
                .await
        }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !resume.is_finished(),
        "the resume waits for the exiting agent"
    );
    assert!(w.launched.try_recv().is_err(), "no second agent meanwhile");

    run.exit(1).await;
    let resumed = timeout(PATIENCE, resume)
        .await
        .expect("the resume goes on once the agent is gone")
        .unwrap()
        .expect("resumed");
    assert_eq!(resumed.resume_count, 1);
    assert!(
        (resumed.totals.cost_usd - 0.25).abs() < 1e-9,
        "counted once"
    );
    let runs = w.store.runs(id).await.unwrap();
    assert_eq!(runs[0].exit_code, Some(1), "the exit is on record");
    assert_eq!(runs[0].outcome, Some(RunOutcome::Interrupted));
    let next = w.next_launch().await;
    assert_eq!(next.spec.mode, ConversationMode::Resume);
}

#[tokio::test(start_paused = true)]
async fn a_resume_gives_up_on_an_agent_that_never_exits_at_the_interrupt_deadline() {
    let mut w = World::new();
    let (id, run) = w.settled_while_exiting().await;

    let began = Instant::now();
    let refused = w
        .supervisor
        .resume(id, prompt("go on"), OptionOverrides::default())
        .await
        .unwrap_err();

    assert_eq!(refused, SupervisorError::OperationInProgress(id));
    assert_eq!(Instant::now() - began, Duration::from_secs(10));
    assert!(w.launched.try_recv().is_err(), "no second agent");
    run.exit(0).await;
}

#[tokio::test(start_paused = true)]
async fn the_supervisor_reports_its_runs_reaped_only_once_an_exiting_agent_is_gone() {
    let mut w = World::new();
    let (_, run) = w.settled_while_exiting().await;

    let reaped = tokio::spawn({
        let supervisor = w.supervisor.clone();
        async move { supervisor.runs_reaped().await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!reaped.is_finished(), "the agent is still exiting");
    run.exit(0).await;
    timeout(PATIENCE, reaped).await.expect("reaped").unwrap();
}
