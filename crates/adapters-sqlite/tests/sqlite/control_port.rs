//! The domain's `ControlStore` port: claims, shared run slots, forgetting a dead owner,
//! and id prefixes, between two stores acting as two processes.

use lulu_domain::ports::{ControlStore, SessionStore};
use lulu_domain::testing::session_id;
use lulu_domain::SessionStatus;

use lulu_adapters_sqlite::SqliteStore;

use crate::fixture::{at, created, lease, moved, owner_id, TempDb};

/// Two stores on one file, as two processes with current leases.
async fn two_owners(db: &TempDb) -> (SqliteStore, SqliteStore) {
    let (first, second) = (
        db.open_owned_by(owner_id(1)).await,
        db.open_owned_by(owner_id(2)).await,
    );
    first.put_lease(&lease(owner_id(1), 60_000)).await.unwrap();
    second.put_lease(&lease(owner_id(2), 60_000)).await.unwrap();
    (first, second)
}

#[tokio::test]
async fn a_settled_session_is_claimed_by_exactly_one_owner_until_that_owner_is_forgotten() {
    let db = TempDb::new();
    let (first, second) = two_owners(&db).await;
    first.save(&created(1)).await.unwrap();
    first
        .save(&moved(1, SessionStatus::Completed, 10))
        .await
        .unwrap();

    assert!(first.claim_session(session_id(1)).await.unwrap());
    assert!(
        !second.claim_session(session_id(1)).await.unwrap(),
        "owned by a known owner"
    );
    second.forget_owner(owner_id(1)).await.unwrap();
    assert!(
        second.claim_session(session_id(1)).await.unwrap(),
        "a forgotten owner's claim lapses"
    );
    second.unclaim_session(session_id(1)).await.unwrap();
    assert!(first.claim_session(session_id(1)).await.unwrap());

    first
        .save(&moved(1, SessionStatus::Queued, 20))
        .await
        .unwrap();
    assert!(
        !second.claim_session(session_id(1)).await.unwrap(),
        "a live session is never claimed"
    );
}

#[tokio::test]
async fn slots_are_limited_across_stores_and_go_to_sessions_in_the_order_they_queued() {
    let db = TempDb::new();
    let (first, second) = two_owners(&db).await;
    for n in 1..=3 {
        let store = if n == 2 { &second } else { &first };
        store.save(&created(n)).await.unwrap();
    }

    assert!(
        !first
            .try_take_slot(session_id(3), 2, at(100))
            .await
            .unwrap(),
        "1 and 2 queued first"
    );
    assert!(first
        .try_take_slot(session_id(1), 2, at(100))
        .await
        .unwrap());
    assert!(second
        .try_take_slot(session_id(2), 2, at(100))
        .await
        .unwrap());
    assert!(
        first
            .try_take_slot(session_id(1), 2, at(100))
            .await
            .unwrap(),
        "a held slot stays held"
    );
    assert!(
        !first
            .try_take_slot(session_id(3), 2, at(100))
            .await
            .unwrap(),
        "the limit holds"
    );

    second
        .save(&moved(2, SessionStatus::Completed, 200))
        .await
        .unwrap();
    assert!(
        first
            .try_take_slot(session_id(3), 2, at(300))
            .await
            .unwrap(),
        "a settled session frees its slot"
    );
}

#[tokio::test]
async fn forgetting_a_dead_owner_frees_its_slots() {
    let db = TempDb::new();
    let (dead, alive) = two_owners(&db).await;
    dead.save(&created(1)).await.unwrap();
    alive.save(&created(2)).await.unwrap();
    assert!(dead.try_take_slot(session_id(1), 1, at(100)).await.unwrap());
    assert!(!alive
        .try_take_slot(session_id(2), 1, at(100))
        .await
        .unwrap());

    alive.forget_owner(owner_id(1)).await.unwrap();

    assert!(alive
        .leases()
        .await
        .unwrap()
        .iter()
        .all(|lease| lease.owner != owner_id(1)));
    assert!(alive
        .try_take_slot(session_id(2), 1, at(200))
        .await
        .unwrap());
}

#[tokio::test]
async fn live_sessions_carry_their_owner_and_prefixes_find_sessions() {
    let db = TempDb::new();
    let store = db.open_owned_by(owner_id(7)).await;
    store.save(&created(1)).await.unwrap();
    store.save(&created(2)).await.unwrap();
    store
        .save(&moved(2, SessionStatus::Failed, 50))
        .await
        .unwrap();

    let live = store.live_sessions().await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(
        (live[0].session.id, live[0].owner),
        (session_id(1), Some(owner_id(7)))
    );

    let both = store.sessions_with_prefix("a000000", 10).await.unwrap();
    assert_eq!(both.len(), 2);
    let one = store.sessions_with_prefix("A0000002", 10).await.unwrap();
    assert_eq!(
        one.iter().map(|session| session.id).collect::<Vec<_>>(),
        [session_id(2)]
    );
    assert!(store
        .sessions_with_prefix("ffff", 10)
        .await
        .unwrap()
        .is_empty());
}
