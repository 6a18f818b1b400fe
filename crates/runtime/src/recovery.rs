//! Crash recovery: sessions whose owner died are settled, and nothing of theirs keeps running.

use std::collections::HashSet;

use tracing::{info, warn};

use lulu_domain::ports::{ControlStore, OwnerLease};
use lulu_domain::{OwnerId, Session, SessionSupervisor, SupervisorError};

use crate::error::RuntimeError;
use crate::owner::owner_is_gone;
use crate::processes::ProcessTable;

/// Settles every live session whose owner is gone: kills the process groups recorded for
/// its run (checking start times, so a reused pid is never hit), then moves it to
/// `interrupted` with the reason, through `supervisor`. `control` is the shared database,
/// `processes` the process table and `host` this host's name. Returns the sessions it
/// settled.
///
/// # Errors
/// [`RuntimeError::Store`] when the database cannot be read.
pub async fn recover_orphans(
    supervisor: &SessionSupervisor,
    control: &dyn ControlStore,
    processes: &dyn ProcessTable,
    host: &str,
) -> Result<Vec<Session>, RuntimeError> {
    let me = control.owner();
    // Sessions first, leases second: an owner stores its lease before any session, so
    // every owner of a session read here has its lease in the later read. (The other
    // order took a new owner's first session for an orphan.)
    let live = control.live_sessions().await?;
    let leases = control.leases().await?;
    // Only an owner whose process this host checked is gone: never one on another
    // host, never one whose lease merely lapsed.
    let gone: HashSet<OwnerId> = leases
        .iter()
        .filter(|lease| lease.owner != me && owner_is_gone(lease, host, processes))
        .map(|lease| lease.owner)
        .collect();
    let mut settled = Vec::new();
    for owned in live {
        let lease = owned
            .owner
            .and_then(|owner| leases.iter().find(|lease| lease.owner == owner));
        // No lease row: its owner dropped it on exit, or it was forgotten after its
        // process was found gone. (An owner stores its lease before stamping any
        // session and stores it again at every renewal, so a living owner always has
        // one by the time its session is read here.)
        let orphaned = match owned.owner {
            Some(owner) if owner == me => false,
            Some(owner) => lease.is_none() || gone.contains(&owner),
            None => true,
        };
        if !orphaned {
            continue;
        }
        if let Some(session) = settle(supervisor, control, processes, &owned.session, lease).await?
        {
            settled.push(session);
        }
    }
    for owner in gone {
        control.forget_owner(owner).await?;
    }
    Ok(settled)
}

async fn settle(
    supervisor: &SessionSupervisor,
    control: &dyn ControlStore,
    processes: &dyn ProcessTable,
    session: &Session,
    lease: Option<&OwnerLease>,
) -> Result<Option<Session>, RuntimeError> {
    let mut killed = 0;
    if let Some(run_id) = session.active_run_id {
        let mut doomed = control.recorded_processes(run_id).await?;
        doomed.extend(processes.marked(run_id));
        killed = processes.kill_groups(&doomed);
    }
    let owner = lease.map_or_else(
        || "its owner is gone".to_owned(),
        |lease| format!("its owner (lulu pid {} on {}) died", lease.pid, lease.host),
    );
    let reason = if killed == 0 {
        format!("{owner}; no agent process was left running")
    } else {
        format!("{owner}; its agent processes were stopped")
    };
    match supervisor.recover(session.id, reason).await {
        Ok(recovered) => {
            info!(session_id = %session.id, killed, "recovered a session whose owner died");
            Ok(Some(recovered))
        }
        Err(SupervisorError::OperationInProgress(_)) => Ok(None),
        Err(error) => {
            warn!(session_id = %session.id, %error, "could not recover session");
            Err(error.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use lulu_domain::ports::{
        LocalSlots, MockControlStore, OwnedSession, OwnerLease, SessionStore, SessionWrite,
    };
    use lulu_domain::testing::{
        epoch, run_id, session_id, spec, FakeLauncher, Journal, MemoryStore, SequentialIds,
        StopResponse, TestClock,
    };
    use lulu_domain::{
        OwnerId, Ports, ProcessRecord, RunChange, RunOutcome, SessionStatus, SupervisorConfig,
    };

    use super::*;
    use crate::processes::tests::FakeProcesses;

    fn owner(n: u128) -> OwnerId {
        OwnerId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn lease(owner: OwnerId, pid: u32, start_time: u64) -> OwnerLease {
        OwnerLease {
            owner,
            pid,
            start_time,
            host: "here".into(),
            heartbeat_at: epoch(),
            expires_at: epoch() + chrono::Duration::seconds(30),
        }
    }

    /// A supervisor over `store` that owns no run.
    fn supervisor_over(store: &MemoryStore) -> SessionSupervisor {
        let (launcher, _launched) =
            FakeLauncher::new(StopResponse::ExitOnGraceful, Journal::default());
        SessionSupervisor::new(
            Ports {
                store: Arc::new(store.clone()),
                launcher: Arc::new(launcher),
                clock: Arc::new(TestClock::new()),
                ids: Arc::new(SequentialIds::default()),
                updates: Arc::new(lulu_domain::ports::BroadcastUpdates::default()),
                slots: Arc::new(LocalSlots::new(8)),
            },
            SupervisorConfig::default(),
        )
    }

    async fn running_session(store: &MemoryStore, n: u32) -> Session {
        let (mut session, run) = Session::queued(session_id(n), run_id(n), spec("work"), epoch());
        session.status = SessionStatus::Running;
        let write = SessionWrite {
            session: session.clone(),
            run_change: Some(RunChange::Created(run)),
            approval_change: None,
        };
        store.save(&write).await.unwrap();
        session
    }

    #[tokio::test(start_paused = true)]
    async fn sessions_of_a_dead_owner_are_killed_and_settled_and_a_live_owners_are_left_alone() {
        let store = MemoryStore::default();
        let orphan = running_session(&store, 1).await;
        let healthy = running_session(&store, 2).await;
        let (me, dead, alive) = (owner(1), owner(2), owner(3));
        let agent = ProcessRecord {
            pid: 500,
            pgid: 500,
            start_time: 77,
        };
        let tool = ProcessRecord {
            pid: 510,
            pgid: 510,
            start_time: 78,
        };
        let reused = ProcessRecord {
            pid: 520,
            pgid: 520,
            start_time: 79,
        };
        // 500 and 510 still run as recorded; 520's pid now belongs to another process.
        let processes = FakeProcesses::with(&[(500, 77), (510, 78), (520, 1234), (900, 9)]);
        // A tool started just before the owner died: never recorded, but marked.
        processes.mark(run_id(1), 530, 80);

        let mut control = MockControlStore::new();
        // Sessions must be read before leases (see `recover_orphans`).
        let mut order = mockall::Sequence::new();
        control.expect_owner().return_const(me);
        let (orphan_clone, healthy_clone) = (orphan.clone(), healthy.clone());
        control
            .expect_live_sessions()
            .times(1)
            .in_sequence(&mut order)
            .returning(move || {
                Ok(vec![
                    OwnedSession {
                        session: orphan_clone.clone(),
                        owner: Some(dead),
                    },
                    OwnedSession {
                        session: healthy_clone.clone(),
                        owner: Some(alive),
                    },
                ])
            });
        control
            .expect_leases()
            .times(1)
            .in_sequence(&mut order)
            .returning(move || Ok(vec![lease(dead, 4711, 1), lease(alive, 900, 9)]));
        control
            .expect_recorded_processes()
            .withf(move |run| *run == run_id(1))
            .times(1)
            .returning(move |_| Ok(vec![agent, tool, reused]));
        control
            .expect_forget_owner()
            .withf(move |gone| *gone == dead)
            .times(1)
            .returning(|_| Ok(()));

        let supervisor = supervisor_over(&store);

        let settled = recover_orphans(&supervisor, &control, &processes, "here")
            .await
            .unwrap();

        assert_eq!(settled.len(), 1);
        assert_eq!(settled[0].id, orphan.id);
        assert_eq!(settled[0].status, SessionStatus::Interrupted);
        assert_eq!(
            settled[0].last_error.as_deref(),
            Some("its owner (lulu pid 4711 on here) died; its agent processes were stopped")
        );
        assert_eq!(
            processes.killed(),
            vec![500, 510, 530],
            "the reused pid 520 was spared"
        );
        assert_eq!(
            store.session(healthy.id).await.unwrap().unwrap().status,
            SessionStatus::Running
        );
        let runs = store.runs(orphan.id).await.unwrap();
        assert_eq!(runs[0].outcome, Some(RunOutcome::Interrupted));
    }

    #[tokio::test(start_paused = true)]
    async fn a_lapsed_lease_never_makes_an_owner_gone_here_or_on_another_host() {
        let store = MemoryStore::default();
        let remote = running_session(&store, 1).await;
        let busy = running_session(&store, 2).await;
        let (me, far, late) = (owner(1), owner(2), owner(3));
        // Pid 4711 runs here too, but the far owner's pid means nothing on this host.
        let processes = FakeProcesses::with(&[(4711, 1), (900, 9)]);
        let lapsed = |owner, pid, start_time, host: &str| OwnerLease {
            host: host.into(),
            expires_at: epoch() - chrono::Duration::hours(1),
            ..lease(owner, pid, start_time)
        };
        let leases = vec![lapsed(far, 4711, 2, "there"), lapsed(late, 900, 9, "here")];
        let mut control = MockControlStore::new();
        control.expect_owner().return_const(me);
        let owned = vec![
            OwnedSession {
                session: remote.clone(),
                owner: Some(far),
            },
            OwnedSession {
                session: busy.clone(),
                owner: Some(late),
            },
        ];
        control
            .expect_live_sessions()
            .returning(move || Ok(owned.clone()));
        control
            .expect_leases()
            .returning(move || Ok(leases.clone()));
        // No kill, no settlement, no forgetting: any other call fails the test.

        let supervisor = supervisor_over(&store);

        assert_eq!(
            recover_orphans(&supervisor, &control, &processes, "here")
                .await
                .unwrap(),
            Vec::new()
        );
        assert!(processes.killed().is_empty());
        for id in [remote.id, busy.id] {
            let session = store.session(id).await.unwrap().unwrap();
            assert_eq!(session.status, SessionStatus::Running);
        }
    }
}
