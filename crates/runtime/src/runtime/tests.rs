use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use lulu_domain::ports::{
    LocalSlots, MockControlStore, OwnedSession, OwnerLease, SessionQuery, SessionWrite, StoreError,
};
use lulu_domain::testing::{
    sample_session, spec, wait_for_status, FakeLauncher, Journal, MemoryStore, SequentialIds,
    StopResponse, TestClock,
};
use lulu_domain::{
    OwnerId, Ports, RunId, RunOutcome, SessionStatus, SessionSupervisor, SupervisorConfig,
    TranscriptEntry,
};
use tokio::sync::{Notify, Semaphore};

use super::*;
use crate::owner::OwnerIdentity;
use crate::processes::tests::FakeProcesses;

/// A runtime over `control` and fakes (a memory store, a fake launcher and processes).
pub(crate) fn runtime(control: MockControlStore) -> Runtime {
    let (launcher, _) = FakeLauncher::new(StopResponse::ExitOnGraceful, Journal::default());
    runtime_over(control, Arc::new(MemoryStore::default()), launcher)
}

fn runtime_over(
    control: MockControlStore,
    store: Arc<dyn SessionStore>,
    launcher: FakeLauncher,
) -> Runtime {
    runtime_with(control, store, launcher, FakeProcesses::default())
}

fn runtime_with(
    control: MockControlStore,
    store: Arc<dyn SessionStore>,
    launcher: FakeLauncher,
    processes: FakeProcesses,
) -> Runtime {
    let clock = Arc::new(TestClock::new());
    let ports = Ports {
        store: store.clone(),
        launcher: Arc::new(launcher),
        clock: clock.clone(),
        ids: Arc::new(SequentialIds::default()),
        updates: Arc::new(lulu_domain::ports::BroadcastUpdates::default()),
        slots: Arc::new(LocalSlots::new(8)),
    };
    let parts = RuntimeParts {
        supervisor: SessionSupervisor::new(ports, SupervisorConfig::default()),
        store,
        control: Arc::new(control),
        processes: Arc::new(processes),
        clock,
        identity: OwnerIdentity {
            owner: OwnerId::from_uuid(uuid::Uuid::nil()),
            pid: 1,
            start_time: 1,
            host: "here".into(),
        },
    };
    Runtime::new(
        parts,
        RuntimeConfig::new("/tmp/lulu.db".into(), "claude".into()),
    )
}

#[tokio::test]
async fn an_ambiguous_prefix_lists_the_candidates_and_a_full_id_needs_no_lookup() {
    let mut control = MockControlStore::new();
    control
        .expect_sessions_with_prefix()
        .withf(|prefix, _| prefix == "a000")
        .returning(|_, _| Ok(vec![sample_session(1), sample_session(2)]));
    let runtime = runtime(control);

    let error = runtime.resolve("A000").await.unwrap_err();

    assert_eq!(
        error.to_string(),
        "`A000` matches several sessions: a0000001 (Fix the failing test in parser.rs), \
         a0000002 (Fix the failing test in parser.rs); give more characters"
    );
    assert_eq!(error.code(), "ambiguous_id");
    let full = sample_session(3).id;
    assert_eq!(runtime.resolve(&full.to_string()).await.unwrap(), full);
}

/// A memory store whose save of a settled session waits until the test opens the gate.
#[derive(Clone)]
struct GatedStore {
    inner: MemoryStore,
    saving_settled: Arc<Notify>,
    gate: Arc<Semaphore>,
}

impl GatedStore {
    fn closed() -> Self {
        Self {
            inner: MemoryStore::default(),
            saving_settled: Arc::default(),
            gate: Arc::new(Semaphore::new(0)),
        }
    }
}

#[async_trait]
impl SessionStore for GatedStore {
    async fn save(&self, write: &SessionWrite) -> Result<(), StoreError> {
        if !write.session.status.is_live() {
            self.saving_settled.notify_one();
            let _ = self.gate.acquire().await;
        }
        self.inner.save(write).await
    }
    async fn session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        self.inner.session(id).await
    }
    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<Session>, StoreError> {
        self.inner.list_sessions(query).await
    }
    async fn runs(&self, session_id: SessionId) -> Result<Vec<Run>, StoreError> {
        self.inner.runs(session_id).await
    }
    async fn append_events(&self, entries: &[TranscriptEntry]) -> Result<(), StoreError> {
        self.inner.append_events(entries).await
    }
    async fn events_after(
        &self,
        run_id: RunId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<TranscriptEntry>, StoreError> {
        self.inner.events_after(run_id, after, limit).await
    }
    async fn delete_session(&self, id: SessionId) -> Result<bool, StoreError> {
        self.inner.delete_session(id).await
    }
}

#[tokio::test]
async fn a_session_that_settles_as_shutdown_begins_is_not_interrupted_nor_reported() {
    let mut control = MockControlStore::new();
    control.expect_drop_lease().times(1).returning(|| Ok(()));
    let store = GatedStore::closed();
    let (launcher, mut launched) =
        FakeLauncher::new(StopResponse::ExitOnGraceful, Journal::default());
    let runtime = Arc::new(runtime_over(control, Arc::new(store.clone()), launcher));
    let session = runtime.start(spec("work")).await.unwrap();
    let run = launched.recv().await.expect("launched");
    wait_for_status(&store, session.id, SessionStatus::Running).await;

    // The run ends; its end is being stored (the session is still this process's).
    run.exit(RunOutcome::Completed, 0).await;
    store.saving_settled.notified().await;
    let shutdown = tokio::spawn({
        let runtime = Arc::clone(&runtime);
        async move { runtime.shutdown().await }
    });
    // Shutdown finds the session among its live ones and waits for its state.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    store.gate.add_permits(1);
    let failed = shutdown.await.unwrap();

    assert!(failed.is_empty(), "reported as not interrupted: {failed:?}");
    assert!(run.stops().is_empty(), "a settled run was stopped");
    let stored = store.session(session.id).await.unwrap().unwrap();
    assert_eq!(stored.status, SessionStatus::Completed);
}

#[tokio::test]
async fn sessions_whose_owner_runs_on_another_host_are_told_apart() {
    let (far, near) = (
        OwnerId::from_uuid(uuid::Uuid::from_u128(7)),
        OwnerId::from_uuid(uuid::Uuid::from_u128(8)),
    );
    let lease = |owner, host: &str| OwnerLease {
        owner,
        pid: 10,
        start_time: 10,
        host: host.into(),
        heartbeat_at: lulu_domain::testing::epoch(),
        expires_at: lulu_domain::testing::epoch(),
    };
    let mut control = MockControlStore::new();
    control.expect_live_sessions().returning(move || {
        Ok(vec![
            OwnedSession {
                session: sample_session(1),
                owner: Some(far),
            },
            OwnedSession {
                session: sample_session(2),
                owner: Some(near),
            },
            OwnedSession {
                session: sample_session(3),
                owner: None,
            },
        ])
    });
    control
        .expect_leases()
        .returning(move || Ok(vec![lease(far, "there"), lease(near, "here")]));
    let runtime = runtime(control);

    let elsewhere = runtime.sessions_owned_elsewhere().await.unwrap();

    assert_eq!(elsewhere, HashSet::from([sample_session(1).id]));
}

#[tokio::test]
async fn the_last_seq_of_a_run_is_found_for_any_length_and_despite_gaps() {
    let store = MemoryStore::default();
    let run = RunId::from_uuid(uuid::Uuid::from_u128(7));
    let other = RunId::from_uuid(uuid::Uuid::from_u128(8));
    let entry = |run_id, seq| TranscriptEntry {
        run_id,
        seq,
        at: chrono::DateTime::UNIX_EPOCH,
        event: lulu_domain::AgentEvent::Diagnostic {
            message: format!("line {seq}"),
        },
    };
    store
        .append_events(&[entry(other, 0), entry(other, 1)])
        .await
        .unwrap();
    let runtime = runtime_over(
        MockControlStore::new(),
        Arc::new(store.clone()),
        FakeLauncher::new(StopResponse::ExitOnGraceful, Journal::default()).0,
    );
    assert_eq!(runtime.last_seq(run).await.unwrap(), None);

    let mut written = Vec::new();
    for seq in [
        0_u64, 1, 2, 3, 5, 8, 13, 100, 1000, 1023, 1024, 1025, 99_999,
    ] {
        store.append_events(&[entry(run, seq)]).await.unwrap();
        written.push(seq);
        assert_eq!(
            runtime.last_seq(run).await.unwrap(),
            Some(seq),
            "after {written:?}"
        );
    }
    assert_eq!(runtime.last_seq(other).await.unwrap(), Some(1));
}
