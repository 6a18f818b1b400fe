//! Files the store must refuse without writing a byte: newer schemas, non-databases,
//! other programs' databases and damaged files.

use std::path::Path;

use lulu_adapters_sqlite::{OpenError, SqliteStore, SCHEMA_VERSION};

use crate::fixture::{raw, store_session, TempDb};

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
async fn a_damaged_lulu_database_is_refused_and_left_unchanged() {
    let db = TempDb::new();
    {
        let store = db.open().await;
        for n in 1..=300 {
            store_session(&store, n).await;
        }
        store.close().await;
    }
    let page_size: usize = raw(&db.path)
        .query_row("PRAGMA page_size", [], |row| row.get(0))
        .unwrap();
    let mut damaged = bytes(&db.path);
    assert!(damaged.len() > 12 * page_size, "enough pages to damage one");
    // Scribble over the middle of the file, past the header page.
    let start = damaged.len() / 2 / page_size * page_size;
    damaged[start..start + page_size].fill(0xA5);
    std::fs::write(&db.path, &damaged).unwrap();

    let error = refusal(&db).await;

    assert!(
        matches!(error, OpenError::Damaged { .. } | OpenError::NotLulu { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(&db.path.display().to_string()),
        "{error}"
    );
    assert!(
        bytes(&db.path) == damaged,
        "the damaged file was kept as it was"
    );
}
