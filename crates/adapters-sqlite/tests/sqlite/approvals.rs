//! Permission requests: stored with the session, readable by any process, and of two
//! answers to one request exactly one is stored.

use lulu_domain::ports::{SessionQuery, SessionStore as _, SessionWrite, StoreError};
use lulu_domain::testing::{approval_request, session_id};
use lulu_domain::{ApprovalAnswer, ApprovalChange, ApprovalClosing, SessionStatus};

use crate::fixture::{moved, raw, store_session, TempDb};

fn asked(request_id: &str, offset_ms: i64) -> SessionWrite {
    let mut write = moved(1, SessionStatus::NeedsApproval, offset_ms);
    let request = approval_request(request_id, "touch notes.md");
    write.session.pending_approvals.push(request.clone());
    write.approval_change = Some(ApprovalChange::Requested(request));
    write
}

fn answered(request_id: &str, answer: ApprovalAnswer, offset_ms: i64) -> SessionWrite {
    let mut write = moved(1, SessionStatus::Running, offset_ms);
    write.approval_change = Some(ApprovalChange::Closed {
        request_ids: vec![request_id.to_owned()],
        closing: ApprovalClosing::Answered(answer),
    });
    write
}

/// A database whose session 1 asked `r1`, and `r1` was allowed.
async fn answered_once() -> (TempDb, lulu_adapters_sqlite::SqliteStore) {
    let db = TempDb::new();
    let store = db.open().await;
    store_session(&store, 1).await;
    store.save(&asked("r1", 10)).await.unwrap();
    store
        .save(&answered("r1", ApprovalAnswer::Allow, 20))
        .await
        .unwrap();
    (db, store)
}

#[tokio::test]
async fn a_pending_request_is_read_back_with_its_session_until_it_is_answered() {
    let db = TempDb::new();
    let store = db.open().await;
    store_session(&store, 1).await;
    store.save(&asked("r1", 10)).await.unwrap();

    let session = store.session(session_id(1)).await.unwrap().unwrap();
    assert_eq!(session.status, SessionStatus::NeedsApproval);
    assert_eq!(
        session.pending_approvals,
        vec![approval_request("r1", "touch notes.md")]
    );
    let listed = store.list_sessions(&SessionQuery::default()).await.unwrap();
    assert_eq!(
        listed[0].pending_approvals.len(),
        1,
        "the list shows what is asked"
    );

    store
        .save(&answered("r1", ApprovalAnswer::AllowAlways, 20))
        .await
        .unwrap();
    let session = store.session(session_id(1)).await.unwrap().unwrap();
    assert!(session.pending_approvals.is_empty());
    let (state, answer): (String, String) = raw(&db.path)
        .query_row(
            "SELECT state, answer FROM approvals WHERE request_id = 'r1'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(state, "answered");
    assert_eq!(answer, r#"{"answer":"allow_always"}"#);
}

#[tokio::test]
async fn an_answer_to_a_closed_request_is_refused_and_stores_nothing() {
    let (_db, store) = answered_once().await;

    let late = answered("r1", ApprovalAnswer::Deny { message: None }, 30);
    let refused = store.save(&late).await.unwrap_err();

    assert!(
        matches!(refused, StoreError::NotFound { .. }),
        "{refused:?}"
    );
    assert_eq!(
        refused.to_string(),
        format!(
            "a pending permission request r1 of session {} was not found in the database",
            session_id(1)
        )
    );
    let session = store.session(session_id(1)).await.unwrap().unwrap();
    assert_eq!(
        session.updated_at,
        moved(1, SessionStatus::Running, 20).session.updated_at
    );
}

#[tokio::test]
async fn of_two_answers_from_two_connections_exactly_one_is_stored() {
    let db = TempDb::new();
    let setup = db.open().await;
    store_session(&setup, 1).await;
    setup.save(&asked("r1", 10)).await.unwrap();
    let (first, second) = (db.open().await, db.open().await);

    let allow = answered("r1", ApprovalAnswer::Allow, 20);
    let deny = answered(
        "r1",
        ApprovalAnswer::Deny {
            message: Some("no".into()),
        },
        21,
    );
    let (a, b) = tokio::join!(first.save(&allow), second.save(&deny));

    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} / {b:?}"
    );
    let stored: u32 = raw(&db.path)
        .query_row(
            "SELECT count(*) FROM approvals WHERE state = 'answered'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn the_end_of_a_turn_clears_what_is_pending_and_skips_what_is_closed() {
    let (db, store) = answered_once().await;
    store.save(&asked("r2", 30)).await.unwrap();

    let mut cleared = moved(1, SessionStatus::Running, 40);
    cleared.approval_change = Some(ApprovalChange::Closed {
        request_ids: vec!["r1".into(), "r2".into()],
        closing: ApprovalClosing::Cleared,
    });
    store.save(&cleared).await.unwrap();

    let states: Vec<String> = raw(&db.path)
        .prepare("SELECT state FROM approvals ORDER BY key")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(states, ["answered", "cleared"]);
}
