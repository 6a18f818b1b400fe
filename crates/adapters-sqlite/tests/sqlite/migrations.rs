//! Forward-only migrations: an old file is upgraded in place and keeps every row.

use lulu_adapters_sqlite::{ChangeCursor, SCHEMA_VERSION};
use lulu_domain::ports::{SessionQuery, SessionStore as _};
use lulu_domain::{RunId, SessionId, SessionStatus};

use crate::fixture::{integrity, raw, TempDb};

const V1_FIXTURE: &str = include_str!("../fixtures/v1.sql");

/// A file at schema version 1, built from the checked-in SQL.
pub fn v1_database() -> TempDb {
    let db = TempDb::new();
    raw(&db.path)
        .execute_batch(V1_FIXTURE)
        .expect("the v1 fixture loads");
    db
}

fn schema_version(db: &TempDb) -> u32 {
    raw(&db.path)
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap()
}

#[tokio::test]
async fn a_version_1_file_is_migrated_to_the_current_version_keeping_its_rows() {
    let db = v1_database();
    assert_eq!(schema_version(&db), 1);

    let store = db.open().await;

    assert_eq!(schema_version(&db), SCHEMA_VERSION);
    assert_eq!(integrity(&db.path), "ok");
    let sessions = store.list_sessions(&SessionQuery::default()).await.unwrap();
    assert_eq!(sessions.len(), 2);
    let parser: SessionId = "11111111-1111-4111-8111-111111111111".parse().unwrap();
    let session = store.session(parser).await.unwrap().unwrap();
    assert_eq!(session.status, SessionStatus::Completed);
    assert_eq!(session.title.as_str(), "Fix the parser");
    assert_eq!(session.options.model.as_deref(), Some("opus"));
    assert_eq!(session.totals.input_tokens, 19_458);
    let runs = store.runs(parser).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert!(
        runs.iter().all(|run| run.options == session.options),
        "older runs used their session's options"
    );
    assert_eq!(runs[0].model.as_deref(), Some("opus"), "from its init line");
    assert_eq!(runs[0].cli_version.as_deref(), Some("2.1.0"));
    assert_eq!(runs[1].model, None, "its transcript has no init line");
    let first_run: RunId = "11111111-aaaa-4aaa-8aaa-aaaaaaaaaaaa".parse().unwrap();
    let transcript = store.events_after(first_run, None, 10).await.unwrap();
    assert_eq!(transcript.len(), 2);
    assert_eq!(transcript[1].event.kind(), "assistant_text");
    let feed = store.changes_since(ChangeCursor::START).await.unwrap();
    assert_eq!(feed.sessions.len(), 2, "old rows count as changed once");
    assert_eq!(
        feed.transcripts.len(),
        2,
        "old transcripts show their last seq"
    );
}

#[tokio::test]
async fn opening_an_up_to_date_file_again_changes_nothing() {
    let db = v1_database();
    db.open().await.close().await;
    let schema = |db: &TempDb| -> Vec<String> {
        let connection = raw(&db.path);
        let mut statement = connection
            .prepare("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name")
            .unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let before = schema(&db);
    db.open().await.close().await;
    assert_eq!(schema(&db), before);
    assert_eq!(schema_version(&db), SCHEMA_VERSION);
}

/// Takes a version 1 file to version 6 with the checked-in migrations, as a Lulu of that
/// version left it.
fn version_6_database() -> TempDb {
    let db = v1_database();
    let connection = raw(&db.path);
    for sql in [
        include_str!("../../migrations/0002_owners_mailbox_changes.sql"),
        include_str!("../../migrations/0003_answer_codes_run_slots.sql"),
        include_str!("../../migrations/0004_lost_events.sql"),
        include_str!("../../migrations/0005_permission_denials.sql"),
        include_str!("../../migrations/0006_approvals.sql"),
    ] {
        connection
            .execute_batch(sql)
            .expect("an old migration applies");
    }
    connection
        .pragma_update(None, "user_version", 6)
        .expect("version set");
    db
}

#[tokio::test]
async fn a_version_6_mailbox_keeps_its_requests_their_ids_and_a_graceful_interrupt() {
    let db = version_6_database();
    let parser = "11111111-1111-4111-8111-111111111111";
    let owner = crate::fixture::owner_id(1);
    {
        let connection = raw(&db.path);
        connection
            .execute(
                "UPDATE sessions SET owner_id = ?1 WHERE id = ?2",
                [owner.to_string(), parser.to_owned()],
            )
            .unwrap();
        connection
            .execute_batch(&format!(
                "INSERT INTO control_requests (session_id, action, requested_at) VALUES \
                 ('{parser}', 'interrupt', '2026-01-01T00:00:00Z'), \
                 ('{parser}', 'interrupt', '2026-01-01T00:00:01Z'); \
                 DELETE FROM control_requests WHERE id = 2;"
            ))
            .unwrap();
    }

    let store = db.open_owned_by(owner).await;

    assert_eq!(schema_version(&db), SCHEMA_VERSION);
    let claimed = store
        .claim_controls(owner, 10, crate::fixture::at(1))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    assert_eq!(claimed[0].id.value(), 1);
    assert_eq!(
        claimed[0].action,
        lulu_adapters_sqlite::ControlAction::Interrupt {
            mode: lulu_domain::InterruptMode::Graceful
        }
    );
    let next = store
        .enqueue_control(
            parser.parse().unwrap(),
            lulu_adapters_sqlite::ControlAction::Close,
            crate::fixture::at(2),
        )
        .await
        .unwrap();
    assert_eq!(
        next.value(),
        3,
        "an id handed out before is never handed out again"
    );
    assert_eq!(integrity(&db.path), "ok");
}
