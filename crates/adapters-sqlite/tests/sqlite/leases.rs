//! Owner stamps, leases, orphan detection and recorded processes.

use std::time::Duration;

use lulu_adapters_sqlite::LeaseRenewal;
use lulu_domain::ports::{SessionStore as _, StoreError};
use lulu_domain::testing::{run_id, session_id};
use lulu_domain::{ProcessRecord, SessionStatus};

use crate::fixture::{at, created, ids, lease, moved, owner_id, TempDb};

#[tokio::test]
async fn a_live_session_carries_its_owner_and_loses_it_when_it_settles() {
    let db = TempDb::new();
    let store = db.open_owned_by(owner_id(1)).await;
    store.save(&created(1)).await.unwrap();
    assert_eq!(
        store.session_owner(session_id(1)).await.unwrap(),
        Some(owner_id(1))
    );

    store
        .save(&moved(1, SessionStatus::Completed, 10))
        .await
        .unwrap();
    assert_eq!(store.session_owner(session_id(1)).await.unwrap(), None);
    assert_eq!(store.session_owner(session_id(9)).await.unwrap(), None);
}

#[tokio::test]
async fn a_lease_is_renewed_until_it_lapses_and_is_then_lost() {
    let db = TempDb::new();
    let store = db.open().await;
    store
        .acquire_lease(&lease(owner_id(1), 1000))
        .await
        .unwrap();

    let renewed = store
        .renew_lease(owner_id(1), at(900), Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(
        renewed,
        LeaseRenewal::Renewed {
            expires_at: at(1900)
        }
    );
    assert!(store.expired_leases(at(1899)).await.unwrap().is_empty());
    let expired = store.expired_leases(at(1900)).await.unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].expires_at, at(1900));
    assert_eq!(expired[0].host, "devbox");

    let late = store
        .renew_lease(owner_id(1), at(2000), Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(late, LeaseRenewal::Lost, "a lapsed lease is never revived");

    assert!(store.release_lease(owner_id(1)).await.unwrap());
    assert!(!store.release_lease(owner_id(1)).await.unwrap());
    let gone = store
        .renew_lease(owner_id(1), at(0), Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(gone, LeaseRenewal::Lost);
}

#[tokio::test]
async fn orphans_are_live_sessions_whose_owner_has_no_valid_lease() {
    let db = TempDb::new();
    let alive = db.open_owned_by(owner_id(1)).await;
    let dead = db.open_owned_by(owner_id(2)).await;
    let unowned = db.open().await;
    alive
        .acquire_lease(&lease(owner_id(1), 60_000))
        .await
        .unwrap();
    dead.acquire_lease(&lease(owner_id(2), 1000)).await.unwrap();
    alive.save(&created(1)).await.unwrap();
    dead.save(&created(2)).await.unwrap();
    unowned.save(&created(3)).await.unwrap();
    dead.save(&created(4)).await.unwrap();
    dead.save(&moved(4, SessionStatus::Failed, 10))
        .await
        .unwrap();

    let orphans = alive.orphaned_sessions(at(5000)).await.unwrap();

    let mut found = ids(&orphans);
    found.sort();
    assert_eq!(found, [session_id(2), session_id(3)]);
    alive.release_lease(owner_id(1)).await.unwrap();
    let mut found = ids(&alive.orphaned_sessions(at(0)).await.unwrap());
    found.sort();
    assert_eq!(
        found,
        [session_id(1), session_id(3)],
        "released, or never owned"
    );
}

#[tokio::test]
async fn recording_processes_twice_keeps_one_row_per_process() {
    let db = TempDb::new();
    let store = db.open().await;
    store.save(&created(1)).await.unwrap();
    let agent = ProcessRecord {
        pid: 100,
        pgid: 100,
        start_time: 5,
    };
    let tool = ProcessRecord {
        pid: 120,
        pgid: 120,
        start_time: 9,
    };

    store
        .record_processes(run_id(1), &[agent, tool])
        .await
        .unwrap();
    store.record_processes(run_id(1), &[tool]).await.unwrap();

    assert_eq!(
        store.recorded_processes(run_id(1)).await.unwrap(),
        [agent, tool]
    );
    let error = store
        .record_processes(run_id(7), &[agent])
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound { .. }), "{error}");
}
