//! The change feed: another connection sees saves, deletions and transcript growth by polling.

use std::time::{Duration, Instant};

use lulu_adapters_sqlite::ChangeCursor;
use lulu_domain::ports::SessionStore as _;
use lulu_domain::testing::{run_id, session_id};
use lulu_domain::SessionStatus;

use crate::fixture::{created, ids, lines, moved, TempDb};

#[tokio::test]
async fn a_poller_sees_each_save_deletion_and_transcript_once() {
    let db = TempDb::new();
    let writer = db.open().await;
    let poller = db.open().await;
    let start = poller.change_cursor().await.unwrap();
    writer.save(&created(1)).await.unwrap();
    writer.save(&created(2)).await.unwrap();
    writer.append_events(&lines(run_id(1), 0..5)).await.unwrap();

    let first = poller.changes_since(start).await.unwrap();
    assert_eq!(ids(&first.sessions), [session_id(1), session_id(2)]);
    assert_eq!(first.transcripts.len(), 1);
    assert_eq!(first.transcripts[0].run_id, run_id(1));
    assert_eq!(first.transcripts[0].session_id, session_id(1));
    assert_eq!(first.transcripts[0].last_seq, 4);
    assert!(first.cursor > start);

    let quiet = poller.changes_since(first.cursor).await.unwrap();
    assert!(quiet.sessions.is_empty() && quiet.transcripts.is_empty() && quiet.deleted.is_empty());
    assert_eq!(quiet.cursor, first.cursor);

    writer
        .save(&moved(2, SessionStatus::Running, 10))
        .await
        .unwrap();
    writer.delete_session(session_id(1)).await.unwrap();
    let second = poller.changes_since(first.cursor).await.unwrap();
    assert_eq!(ids(&second.sessions), [session_id(2)]);
    assert_eq!(second.sessions[0].status, SessionStatus::Running);
    assert_eq!(second.deleted, [session_id(1)]);
    assert!(second.transcripts.is_empty());

    let everything = poller.changes_since(ChangeCursor::START).await.unwrap();
    assert_eq!(everything.cursor, second.cursor);
}

#[tokio::test]
async fn a_second_connection_polling_sees_a_status_change_within_100_ms() {
    let db = TempDb::new();
    let writer = db.open().await;
    let poller = db.open().await;
    writer.save(&created(1)).await.unwrap();
    let cursor = poller.change_cursor().await.unwrap();

    writer
        .save(&moved(1, SessionStatus::Running, 10))
        .await
        .unwrap();
    let saved = Instant::now();
    let seen = loop {
        let changes = poller.changes_since(cursor).await.unwrap();
        if let Some(session) = changes.sessions.first() {
            break (session.status, saved.elapsed());
        }
        assert!(saved.elapsed() < Duration::from_secs(5), "never seen");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };

    assert_eq!(seen.0, SessionStatus::Running);
    assert!(
        seen.1 < Duration::from_millis(100),
        "seen after {:?}",
        seen.1
    );
}
