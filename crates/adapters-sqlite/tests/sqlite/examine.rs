//! The full check behind `lulu doctor`: what it reports on sound, damaged, inconsistent,
//! missing and foreign files, without modifying any of them.

use lulu_adapters_sqlite::{examine, OpenError, OrphanedRows, RowCounts, SCHEMA_VERSION};
use lulu_domain::ports::SessionStore as _;
use lulu_domain::testing::run_id;

use crate::fixture::{damaged_sessions_table, lines, raw, store_session, TempDb};

#[tokio::test]
async fn a_sound_database_is_reported_with_its_rows_and_sizes() {
    let db = TempDb::new();
    let store = db.open().await;
    for n in 1..=3 {
        store_session(&store, n).await;
    }
    store.append_events(&lines(run_id(1), 0..5)).await.unwrap();

    let report = examine(&db.path).await.expect("the file is checked");
    store.close().await;

    assert!(report.is_sound(), "{report:#?}");
    assert_eq!(report.schema_version, SCHEMA_VERSION);
    assert_eq!(
        report.rows,
        Some(RowCounts {
            sessions: 3,
            runs: 3,
            events: 5
        })
    );
    assert!(report.file_bytes.unwrap() > 0);
    assert!(report.wal_bytes > 0, "the store's WAL is still open");
}

#[tokio::test]
async fn a_damaged_database_is_reported_damaged_and_left_as_it_was() {
    let db = TempDb::new();
    let damaged = damaged_sessions_table(&db).await;

    let report = examine(&db.path)
        .await
        .expect("damage is reported, not an error");

    assert!(!report.is_sound());
    assert!(!report.problems.is_empty(), "{report:#?}");
    assert!(
        std::fs::read(&db.path).unwrap() == damaged,
        "nothing was written"
    );
}

#[tokio::test]
async fn rows_whose_parent_is_gone_are_reported_as_orphans() {
    let db = TempDb::new();
    let store = db.open().await;
    store_session(&store, 1).await;
    store_session(&store, 2).await;
    store.close().await;
    // Another tool deletes sessions with foreign keys off, leaving their runs behind.
    let connection = raw(&db.path);
    connection
        .pragma_update(None, "foreign_keys", false)
        .unwrap();
    connection.execute("DELETE FROM sessions", []).unwrap();
    drop(connection);

    let report = examine(&db.path).await.expect("the file is checked");

    assert!(report.problems.is_empty(), "{report:#?}");
    assert_eq!(
        report.orphans,
        [OrphanedRows {
            table: "runs".into(),
            parent: "sessions".into(),
            rows: 2
        }]
    );
    assert!(!report.is_sound());
}

#[tokio::test]
async fn a_missing_file_is_not_created() {
    let db = TempDb::new();

    let error = examine(&db.path).await.expect_err("nothing to check");

    assert!(matches!(error, OpenError::Missing { .. }), "{error:?}");
    assert!(!db.path.exists());
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused_as_foreign() {
    let db = TempDb::new();
    std::fs::write(
        &db.path,
        "not a database, just some text that is long enough",
    )
    .unwrap();

    let error = examine(&db.path).await.expect_err("not Lulu's");

    assert!(matches!(error, OpenError::NotLulu { .. }), "{error:?}");
}
