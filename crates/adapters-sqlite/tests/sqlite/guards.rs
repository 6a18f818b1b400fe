//! Files the store must refuse without writing a byte: newer schemas, non-databases,
//! other programs' databases and damaged files.

use std::path::Path;

use lulu_adapters_sqlite::{OpenError, SqliteStore, SCHEMA_VERSION};
use lulu_domain::ports::{SessionQuery, SessionStore as _, StoreError};

use crate::fixture::{damaged_sessions_table, raw, TempDb};

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("the file is readable")
}

async fn refusal(db: &TempDb) -> OpenError {
    SqliteStore::open(db.options())
        .await
        .expect_err("the file is refused")
}

#[tokio::test]
async fn a_newer_schema_is_refused_naming_the_file_and_both_versions() {
    let db = TempDb::new();
    db.open().await.close().await;
    raw(&db.path)
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    let before = bytes(&db.path);

    let error = refusal(&db).await;

    assert!(matches!(error, OpenError::NewerSchema { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&db.path.display().to_string()),
        "{message}"
    );
    assert!(
        message.contains(&format!("schema version {}", SCHEMA_VERSION + 1)),
        "{message}"
    );
    assert!(
        message.contains(&format!("up to {SCHEMA_VERSION}")),
        "{message}"
    );
    assert!(message.contains("upgrade Lulu"), "{message}");
    assert!(bytes(&db.path) == before, "the file was not touched");
}

#[tokio::test]
async fn a_garbage_file_is_refused_and_left_byte_for_byte_unchanged() {
    let db = TempDb::new();
    let garbage: Vec<u8> = (0..10_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&db.path, &garbage).unwrap();

    let error = refusal(&db).await;

    assert!(matches!(error, OpenError::NotLulu { .. }), "{error:?}");
    assert!(
        error.to_string().contains("is not an SQLite database"),
        "{error}"
    );
    assert!(
        error.to_string().contains(&db.path.display().to_string()),
        "{error}"
    );
    assert!(bytes(&db.path) == garbage, "the file was not touched");
    let names: Vec<_> = std::fs::read_dir(db.dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["lulu.db"], "no -wal or -shm file was created");
}

#[tokio::test]
async fn another_programs_database_is_refused_and_left_unchanged() {
    let db = TempDb::new();
    raw(&db.path)
        .execute_batch("CREATE TABLE bookmarks (url TEXT); INSERT INTO bookmarks VALUES ('x');")
        .unwrap();
    let before = bytes(&db.path);

    let error = refusal(&db).await;

    assert!(matches!(error, OpenError::NotLulu { .. }), "{error:?}");
    assert!(error.to_string().contains("another program"), "{error}");
    assert!(bytes(&db.path) == before, "the file was not touched");
}

#[tokio::test]
async fn damage_met_after_open_is_called_damage_naming_the_file() {
    let db = TempDb::new();
    let damaged = damaged_sessions_table(&db).await;

    // Opening checks only what is cheap; the damage shows when a read meets it.
    let store = db.open().await;
    let error = store
        .list_sessions(&SessionQuery::default())
        .await
        .expect_err("the damaged page is met");
    store.close().await;

    assert!(matches!(error, StoreError::Damaged { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&format!("the database {} is damaged", db.path.display())),
        "{message}"
    );
    assert!(
        bytes(&db.path) == damaged,
        "the damaged file was kept as it was"
    );
}

#[tokio::test]
async fn a_file_whose_companions_cannot_be_opened_is_not_called_foreign() {
    let db = TempDb::new();
    db.open().await.close().await;
    // SQLite cannot create the WAL file beside a WAL database: an open failure,
    // like running out of descriptors, not a sign that the file is someone else's.
    std::fs::create_dir(db.dir.path().join("lulu.db-wal")).unwrap();

    let error = refusal(&db).await;

    let message = error.to_string();
    assert!(matches!(error, OpenError::Sqlite { .. }), "{error:?}");
    assert!(!message.contains("not a Lulu database"), "{message}");
    assert!(
        message.starts_with(&format!("cannot open the database {}: ", db.path.display())),
        "{message}"
    );
}
