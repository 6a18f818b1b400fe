//! The control mailbox: requests reach only the owner, are claimed once and answered once.

use std::collections::BTreeSet;

use lulu_adapters_sqlite::{ControlAction, ControlAnswer, OwnerLease};
use lulu_domain::ports::{SessionStore as _, StoreError};
use lulu_domain::testing::session_id;
use lulu_domain::{ApprovalAnswer, InterruptMode, Prompt, SessionStatus};

use crate::fixture::{at, created, owner_id, TempDb};

#[tokio::test]
async fn a_request_is_claimed_by_the_owner_only_once_and_answered_once() {
    let db = TempDb::new();
    let owner = db.open_owned_by(owner_id(1)).await;
    let requester = db.open().await;
    owner.save(&created(1)).await.unwrap();
    let resume = ControlAction::Resume {
        prompt: Prompt::parse("and now the docs").unwrap(),
    };

    let interrupt = requester
        .enqueue_control(
            session_id(1),
            ControlAction::Interrupt {
                mode: InterruptMode::Graceful,
            },
            at(1),
        )
        .await
        .unwrap();
    let follow_up = requester
        .enqueue_control(session_id(1), resume.clone(), at(2))
        .await
        .unwrap();

    assert!(owner
        .claim_controls(owner_id(2), 10, at(3))
        .await
        .unwrap()
        .is_empty());
    let claimed = owner.claim_controls(owner_id(1), 10, at(3)).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert_eq!(claimed[0].id, interrupt);
    assert_eq!(
        claimed[0].action,
        ControlAction::Interrupt {
            mode: InterruptMode::Graceful
        }
    );
    assert_eq!(claimed[0].requested_at, at(1));
    assert_eq!(claimed[1].action, resume);
    assert!(owner
        .claim_controls(owner_id(1), 10, at(4))
        .await
        .unwrap()
        .is_empty());

    assert_eq!(requester.control_answer(interrupt).await.unwrap(), None);
    let done = ControlAnswer::Succeeded {
        status: SessionStatus::Interrupted,
    };
    assert!(owner
        .answer_control(interrupt, done.clone(), at(5))
        .await
        .unwrap());
    let refusal = ControlAnswer::Refused {
        code: "too_late".into(),
        message: "too late".into(),
    };
    assert!(!owner
        .answer_control(interrupt, refusal.clone(), at(6))
        .await
        .unwrap());
    assert!(owner
        .answer_control(follow_up, refusal.clone(), at(6))
        .await
        .unwrap());
    assert_eq!(
        requester.control_answer(interrupt).await.unwrap(),
        Some(done)
    );
    assert_eq!(
        requester.control_answer(follow_up).await.unwrap(),
        Some(refusal)
    );
}

#[tokio::test]
async fn requests_for_missing_sessions_or_ids_are_not_found() {
    let db = TempDb::new();
    let store = db.open().await;
    let error = store
        .enqueue_control(
            session_id(1),
            ControlAction::Interrupt {
                mode: InterruptMode::Graceful,
            },
            at(0),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound { .. }), "{error}");
    let id = lulu_adapters_sqlite::ControlRequestId::from_value(42);
    assert!(matches!(
        store.control_answer(id).await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn requests_for_sessions_without_a_live_owner_are_refused() {
    let db = TempDb::new();
    let owner = db.open_owned_by(owner_id(1)).await;
    owner
        .acquire_lease(&OwnerLease {
            owner: owner_id(1),
            pid: 1,
            start_time: 1,
            host: "devbox".into(),
            heartbeat_at: at(0),
            expires_at: at(1000),
        })
        .await
        .unwrap();
    owner.save(&created(1)).await.unwrap();
    let request = owner
        .enqueue_control(
            session_id(1),
            ControlAction::Interrupt {
                mode: InterruptMode::Graceful,
            },
            at(1),
        )
        .await
        .unwrap();

    assert!(owner
        .refuse_orphaned_controls(at(500), "gone")
        .await
        .unwrap()
        .is_empty());
    let refused = owner
        .refuse_orphaned_controls(at(1000), "its owner has exited")
        .await
        .unwrap();

    assert_eq!(refused, [request]);
    assert_eq!(
        owner.control_answer(request).await.unwrap(),
        Some(ControlAnswer::Refused {
            code: "owner_gone".into(),
            message: "its owner has exited".into()
        })
    );
}

#[tokio::test]
async fn two_claimers_racing_never_claim_the_same_request() {
    let db = TempDb::new();
    let first = db.open_owned_by(owner_id(1)).await;
    let second = db.open_owned_by(owner_id(1)).await;
    first.save(&created(1)).await.unwrap();
    let mut enqueued = BTreeSet::new();
    for n in 0..200 {
        let id = first
            .enqueue_control(
                session_id(1),
                ControlAction::Interrupt {
                    mode: InterruptMode::Graceful,
                },
                at(n),
            )
            .await
            .unwrap();
        enqueued.insert(id);
    }

    let claim_all = |store: lulu_adapters_sqlite::SqliteStore| async move {
        let mut claimed = Vec::new();
        loop {
            let batch = store.claim_controls(owner_id(1), 3, at(0)).await.unwrap();
            if batch.is_empty() {
                return claimed;
            }
            claimed.extend(batch.into_iter().map(|request| request.id));
        }
    };
    let (a, b) = tokio::join!(
        tokio::spawn(claim_all(first.clone())),
        tokio::spawn(claim_all(second.clone()))
    );
    let (a, b) = (a.unwrap(), b.unwrap());

    let union: BTreeSet<_> = a.iter().chain(&b).copied().collect();
    assert_eq!(
        a.len() + b.len(),
        enqueued.len(),
        "no request claimed twice"
    );
    assert_eq!(union, enqueued, "every request claimed");
}

#[tokio::test]
async fn only_a_request_no_owner_has_claimed_can_be_withdrawn() {
    let db = TempDb::new();
    let owner = db.open_owned_by(owner_id(1)).await;
    let requester = db.open().await;
    owner.save(&created(1)).await.unwrap();
    let claimed = requester
        .enqueue_control(
            session_id(1),
            ControlAction::Interrupt {
                mode: InterruptMode::Graceful,
            },
            at(1),
        )
        .await
        .unwrap();
    assert_eq!(
        owner
            .claim_controls(owner_id(1), 10, at(2))
            .await
            .unwrap()
            .len(),
        1
    );
    let unclaimed = requester
        .enqueue_control(
            session_id(1),
            ControlAction::Interrupt {
                mode: InterruptMode::Graceful,
            },
            at(3),
        )
        .await
        .unwrap();

    assert!(!requester.withdraw_control(claimed, at(4)).await.unwrap());
    assert_eq!(requester.control_answer(claimed).await.unwrap(), None);
    assert!(requester.withdraw_control(unclaimed, at(4)).await.unwrap());
    assert!(
        !requester.withdraw_control(unclaimed, at(5)).await.unwrap(),
        "withdrawn once"
    );
    match requester.control_answer(unclaimed).await.unwrap() {
        Some(ControlAnswer::Refused { code, .. }) => assert_eq!(code, "withdrawn"),
        other => panic!("withdrawn requests are answered refused: {other:?}"),
    }
    assert!(
        owner
            .claim_controls(owner_id(1), 10, at(6))
            .await
            .unwrap()
            .is_empty(),
        "a withdrawn request is never carried out"
    );
}

#[tokio::test]
async fn every_action_reaches_the_owner_as_it_was_asked() {
    let db = TempDb::new();
    let owner = db.open_owned_by(owner_id(1)).await;
    let requester = db.open().await;
    owner.save(&created(1)).await.unwrap();
    let message = Prompt::parse("also update the changelog").unwrap();
    let actions = vec![
        ControlAction::Interrupt {
            mode: InterruptMode::Immediate,
        },
        ControlAction::Interrupt {
            mode: InterruptMode::Graceful,
        },
        ControlAction::Answer {
            request_id: Some("toolu_01".into()),
            answer: ApprovalAnswer::Deny {
                message: Some("not that file".into()),
            },
        },
        ControlAction::Answer {
            request_id: None,
            answer: ApprovalAnswer::AllowAlways,
        },
        ControlAction::Send { message },
        ControlAction::Close,
    ];
    for (n, action) in actions.iter().enumerate() {
        let n = i64::try_from(n).unwrap();
        requester
            .enqueue_control(session_id(1), action.clone(), at(n))
            .await
            .unwrap();
    }

    let claimed = owner.claim_controls(owner_id(1), 10, at(9)).await.unwrap();

    let received: Vec<ControlAction> = claimed.into_iter().map(|request| request.action).collect();
    assert_eq!(received, actions);
}
