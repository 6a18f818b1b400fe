//! The mailbox and asking another owner, deterministically: two owners over one in-memory
//! database ([`SharedDatabase`]), fake runs, and tokio's paused clock behind `TestClock`,
//! so the deadlines and grace periods pass in virtual time, in the same order every run.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

use lulu_domain::ports::{
    BroadcastUpdates, Clock, ControlAnswer, ControlStore, LocalSlots, OwnerLease,
};
use lulu_domain::testing::{
    epoch, permission_request_event, spec, turn_result_event, wait_for_status, FakeLauncher,
    FakeRun, Journal, SequentialIds, StopResponse, TestClock,
};
use lulu_domain::{
    ApprovalAnswer, InterruptMode, OwnerId, Ports, Prompt, RunOutcome, Session, SessionSpec,
    SessionStatus, SessionSupervisor, SupervisorConfig,
};

use crate::fake_control::SharedDatabase;
use crate::mailbox;
use crate::owner::OwnerIdentity;
use crate::processes::tests::FakeProcesses;
use crate::{Runtime, RuntimeConfig, RuntimeError, RuntimeParts};

/// The owner process's pid and start time, as its lease records them.
const OWNER_PID: u32 = 4242;
const OWNER_START: u64 = 77;

fn owner_b() -> OwnerId {
    OwnerId::from_uuid(uuid::Uuid::from_u128(0xb))
}

fn requester_a() -> OwnerId {
    OwnerId::from_uuid(uuid::Uuid::from_u128(0xa))
}

/// A supervisor over the shared sessions, with its own fake launcher.
fn supervisor(database: &SharedDatabase) -> (SessionSupervisor, UnboundedReceiver<FakeRun>) {
    supervisor_of_runs(database, StopResponse::ExitOnGraceful, Journal::default())
}

/// A supervisor over the shared sessions whose runs answer stops per `stop_response` and
/// note what they are asked in `journal`.
fn supervisor_of_runs(
    database: &SharedDatabase,
    stop_response: StopResponse,
    journal: Journal,
) -> (SessionSupervisor, UnboundedReceiver<FakeRun>) {
    let (launcher, launched) = FakeLauncher::new(stop_response, journal);
    let ports = Ports {
        store: database.sessions.clone(),
        launcher: Arc::new(launcher),
        clock: Arc::new(TestClock::new()),
        ids: Arc::new(SequentialIds::default()),
        updates: Arc::new(BroadcastUpdates::default()),
        slots: Arc::new(LocalSlots::new(8)),
    };
    (
        SessionSupervisor::new(ports, SupervisorConfig::default()),
        launched,
    )
}

/// Owner B, another Lulu process on this host: it runs one session and holds a lease.
struct OtherOwner {
    supervisor: SessionSupervisor,
    session: Session,
    run: FakeRun,
    database: SharedDatabase,
}

impl OtherOwner {
    async fn running_one_session(database: &SharedDatabase) -> Self {
        let (supervisor, launched) = supervisor(database);
        Self::running(database, supervisor, launched, spec("work")).await
    }

    async fn running(
        database: &SharedDatabase,
        supervisor: SessionSupervisor,
        mut launched: UnboundedReceiver<FakeRun>,
        spec: SessionSpec,
    ) -> Self {
        let session = supervisor.start(spec).await.expect("started");
        let run = launched.recv().await.expect("launched");
        wait_for_status(
            database.sessions.as_ref(),
            session.id,
            SessionStatus::Running,
        )
        .await;
        database.stamp(session.id, owner_b());
        database
            .view(owner_b())
            .put_lease(&OwnerLease {
                owner: owner_b(),
                pid: OWNER_PID,
                start_time: OWNER_START,
                host: "here".into(),
                heartbeat_at: epoch(),
                expires_at: epoch() + chrono::Duration::days(1),
            })
            .await
            .expect("lease stored");
        Self {
            supervisor,
            session,
            run,
            database: database.clone(),
        }
    }

    /// Starts carrying out the requests for its sessions, until the token is cancelled.
    fn serve(&self) -> CancellationToken {
        let stop = CancellationToken::new();
        tokio::spawn(mailbox::serve(
            self.supervisor.clone(),
            Arc::new(self.database.view(owner_b())),
            Arc::new(TestClock::new()),
            Duration::from_millis(50),
            stop.clone(),
        ));
        stop
    }
}

/// Requester A: a runtime that owns nothing and asks B; `processes` is this host's table.
fn requester(database: &SharedDatabase, processes: &Arc<FakeProcesses>) -> Arc<Runtime> {
    let (supervisor, _) = supervisor(database);
    let clock: Arc<dyn Clock> = Arc::new(TestClock::new());
    let parts = RuntimeParts {
        supervisor,
        store: database.sessions.clone(),
        control: Arc::new(database.view(requester_a())),
        processes: processes.clone(),
        clock,
        identity: OwnerIdentity {
            owner: requester_a(),
            pid: 1,
            start_time: 1,
            host: "here".into(),
        },
    };
    Arc::new(Runtime::new(
        parts,
        RuntimeConfig::new("/tmp/lulu.db".into(), "claude".into()),
    ))
}

/// B's process, alive and running.
fn owner_alive() -> Arc<FakeProcesses> {
    Arc::new(FakeProcesses::with(&[(OWNER_PID, OWNER_START)]))
}

/// The one request asked so far and its answer.
fn only_answer(database: &SharedDatabase) -> Option<ControlAnswer> {
    let letters = database.letters();
    assert_eq!(letters.len(), 1, "{letters:?}");
    letters[0].answer.clone()
}

/// Waits (in virtual time, with a deadline) until the one request has an answer.
async fn answered(database: &SharedDatabase) -> ControlAnswer {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(answer) = only_answer(database) {
            return answer;
        }
        assert!(tokio::time::Instant::now() < deadline, "never answered");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The answer a withdrawn request carries.
fn withdrawn() -> ControlAnswer {
    ControlAnswer::Refused {
        code: "withdrawn".into(),
        message: "withdrawn by its requester".into(),
    }
}

#[tokio::test(start_paused = true)]
async fn a_request_the_owner_claims_is_carried_out_and_answered() {
    let database = SharedDatabase::default();
    let owner = OtherOwner::running_one_session(&database).await;
    let _serving = owner.serve().drop_guard();
    let asker = requester(&database, &owner_alive());

    let outcome = asker
        .interrupt(owner.session.id, InterruptMode::Graceful)
        .await
        .expect("answered");

    assert!(outcome.interrupted(), "{outcome:?}");
    assert_eq!(outcome.session().status, SessionStatus::Interrupted);
    assert_eq!(
        only_answer(&database),
        Some(ControlAnswer::Succeeded {
            status: SessionStatus::Interrupted
        })
    );
    assert!(database.letters()[0].claimed);
    assert_eq!(owner.run.stops().len(), 1, "stopped once, by its owner");
}

#[tokio::test(start_paused = true)]
async fn a_request_the_owner_refuses_comes_back_with_the_owners_code_and_words() {
    let database = SharedDatabase::default();
    let owner = OtherOwner::running_one_session(&database).await;
    let _serving = owner.serve().drop_guard();
    let asker = requester(&database, &owner_alive());
    let prompt = Prompt::parse("and then?").expect("a prompt");

    let error = asker
        .resume(
            owner.session.id,
            prompt,
            lulu_domain::OptionOverrides::default(),
        )
        .await
        .expect_err("a running session cannot be resumed");

    let RuntimeError::Refused { code, message } = &error else {
        panic!("not a refusal: {error:?}");
    };
    assert_eq!(code, "not_resumable");
    assert!(message.contains("is running"), "{message}");
    assert!(owner.run.stops().is_empty(), "the run was left alone");
    assert_eq!(
        only_answer(&database),
        Some(ControlAnswer::Refused {
            code: code.clone(),
            message: message.clone()
        })
    );
}

#[tokio::test(start_paused = true)]
async fn a_request_whose_session_settles_before_any_owner_claims_it_is_withdrawn() {
    let database = SharedDatabase::default();
    let owner = OtherOwner::running_one_session(&database).await;
    let asker = requester(&database, &owner_alive());
    let id = owner.session.id;
    let asking = tokio::spawn({
        let asker = Arc::clone(&asker);
        async move { asker.interrupt(id, InterruptMode::Graceful).await }
    });

    // The run ends by itself while the request waits, unclaimed (B is not serving yet).
    database.enqueued.notified().await;
    owner.run.exit(RunOutcome::Completed, 0).await;
    let error = asking
        .await
        .expect("no panic")
        .expect_err("not carried out");

    assert_eq!(error.code(), "not_running", "{error}");
    assert!(error.to_string().contains("is completed"), "{error}");
    assert_eq!(only_answer(&database), Some(withdrawn()));
    // Withdrawn means never carried out later: the owner, serving now, finds nothing.
    let claimed = database.view(owner_b()).claim_controls().await.unwrap();
    assert!(claimed.is_empty(), "{claimed:?}");
    assert!(owner.run.stops().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_request_nobody_answers_times_out_and_is_withdrawn() {
    let database = SharedDatabase::default();
    let owner = OtherOwner::running_one_session(&database).await;
    let asker = requester(&database, &owner_alive());
    let began = tokio::time::Instant::now();

    let error = asker
        .interrupt(owner.session.id, InterruptMode::Graceful)
        .await
        .expect_err("no answer");

    let waited = began.elapsed();
    let deadline = asker.config().interrupt.deadline() + Duration::from_secs(5);
    assert!(
        matches!(&error, RuntimeError::NoAnswer { waited, .. } if *waited == deadline),
        "{error:?}"
    );
    assert!(waited >= deadline, "gave up early, after {waited:?}");
    assert_eq!(only_answer(&database), Some(withdrawn()));
    let session = asker.session(owner.session.id).await.unwrap();
    assert_eq!(session.status, SessionStatus::Running, "nothing was done");
}

#[tokio::test(start_paused = true)]
async fn a_stopped_owner_is_reported_at_once_and_carries_the_request_out_once_continued() {
    let database = SharedDatabase::default();
    let owner = OtherOwner::running_one_session(&database).await;
    let processes = owner_alive();
    processes.set_state(OWNER_PID, 'T');
    let asker = requester(&database, &processes);
    let began = tokio::time::Instant::now();

    let error = asker
        .interrupt(owner.session.id, InterruptMode::Graceful)
        .await
        .expect_err("stopped");

    assert_eq!(error.code(), "owner_stopped", "{error}");
    let message = error.to_string();
    assert!(
        message.contains(&format!("lulu pid {OWNER_PID}")),
        "{message}"
    );
    assert!(message.contains("stopped by a signal"), "{message}");
    assert!(
        began.elapsed() < asker.config().interrupt.deadline(),
        "said before the deadline, not after: {:?}",
        began.elapsed()
    );
    assert_eq!(only_answer(&database), None, "left for the owner");
    // Continued, the owner finds the request waiting and carries it out.
    processes.set_state(OWNER_PID, 'S');
    let _serving = owner.serve().drop_guard();
    assert_eq!(
        answered(&database).await,
        ControlAnswer::Succeeded {
            status: SessionStatus::Interrupted
        }
    );
    let session = asker.session(owner.session.id).await.unwrap();
    assert_eq!(session.status, SessionStatus::Interrupted);
}

#[tokio::test(start_paused = true)]
async fn a_forced_interrupt_asked_of_another_owner_stays_forced() {
    let database = SharedDatabase::default();
    // Only a forceful stop ends these runs: a graceful interrupt would wait out the grace.
    let (supervisor, launched) =
        supervisor_of_runs(&database, StopResponse::ExitOnForceful, Journal::default());
    let owner = OtherOwner::running(&database, supervisor, launched, spec("work")).await;
    let _serving = owner.serve().drop_guard();
    let asker = requester(&database, &owner_alive());
    let began = tokio::time::Instant::now();

    let outcome = asker
        .interrupt(owner.session.id, InterruptMode::Immediate)
        .await
        .expect("answered");

    assert!(outcome.interrupted(), "{outcome:?}");
    let grace = SupervisorConfig::default().interrupt.grace();
    assert!(
        began.elapsed() < grace,
        "waited out the grace period ({grace:?}): {:?}",
        began.elapsed()
    );
    assert_eq!(
        owner.run.stops(),
        vec![
            lulu_domain::StopMode::Graceful,
            lulu_domain::StopMode::Forceful
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn of_two_answers_asked_of_another_owner_exactly_one_wins_and_the_other_is_told_why() {
    let database = SharedDatabase::default();
    let owner = OtherOwner::running_one_session(&database).await;
    let _serving = owner.serve().drop_guard();
    let asker = requester(&database, &owner_alive());
    let id = owner.session.id;
    owner
        .run
        .emit(permission_request_event("toolu_1", "touch notes.md"))
        .await;
    wait_for_status(database.sessions.as_ref(), id, SessionStatus::NeedsApproval).await;

    let answer = |answer: ApprovalAnswer| {
        let asker = Arc::clone(&asker);
        tokio::spawn(async move { asker.answer(id, None, answer).await })
    };
    let allow = answer(ApprovalAnswer::Allow);
    let deny = answer(ApprovalAnswer::Deny { message: None });
    let results = [
        allow.await.expect("no panic"),
        deny.await.expect("no panic"),
    ];

    let won: Vec<&Session> = results
        .iter()
        .filter_map(|result| result.as_ref().ok())
        .collect();
    assert_eq!(won.len(), 1, "{results:?}");
    assert_eq!(won[0].status, SessionStatus::Running);
    let lost = results
        .iter()
        .find_map(|result| result.as_ref().err())
        .expect("one lost");
    assert_eq!(lost.code(), "no_pending_approval", "{lost}");
    assert!(lost.to_string().contains("already answered"), "{lost}");
    assert_eq!(owner.run.answers().len(), 1, "{:?}", owner.run.answers());
    assert!(database.letters().iter().all(|letter| letter.claimed));
}

#[tokio::test(start_paused = true)]
async fn a_follow_up_and_a_close_asked_of_another_owner_reach_its_kept_open_run() {
    let database = SharedDatabase::default();
    let journal = Journal::default();
    let (supervisor, launched) =
        supervisor_of_runs(&database, StopResponse::ExitOnGraceful, journal.clone());
    let mut kept_open = spec("work");
    kept_open.options.keep_open = true;
    let owner = OtherOwner::running(&database, supervisor, launched, kept_open).await;
    let _serving = owner.serve().drop_guard();
    let asker = requester(&database, &owner_alive());
    let id = owner.session.id;
    owner.run.emit(turn_result_event(0.01)).await;
    wait_for_status(database.sessions.as_ref(), id, SessionStatus::Idle).await;

    let message = Prompt::parse("now the changelog").expect("a prompt");
    asker.send(id, message).await.expect("sent");
    let closed = asker.close(id).await.expect("closed");

    assert!(
        journal.text().contains("send    now the changelog"),
        "{}",
        journal.text()
    );
    assert!(
        journal.text().contains("close   stdin"),
        "{}",
        journal.text()
    );
    assert_eq!(closed.id, id);
    wait_for_status(database.sessions.as_ref(), id, SessionStatus::Completed).await;
    // Settled now: another close is refused with the owner's words, by this process.
    let error = asker.close(id).await.expect_err("not idle");
    assert_eq!(error.code(), "not_idle", "{error}");
}
