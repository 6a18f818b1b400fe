//! A store notices when the file at its path is no longer the one it opened.

use lulu_domain::ports::SessionStore as _;

use crate::fixture::{capped_store, fill_until_a_write_fails, store_session, TempDb};

fn assert_says_replaced(db: &TempDb, error: &lulu_domain::ports::StoreError) {
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "the database file {} was deleted or replaced while Lulu was using it",
            db.path.display()
        )),
        "{message}"
    );
}

#[tokio::test]
async fn the_file_the_store_opened_passes_the_check() {
    let db = TempDb::new();
    let store = db.open().await;
    store_session(&store, 1).await;

    assert_eq!(store.check_file(), Ok(()));
    store.close().await;
}

#[tokio::test]
async fn a_deleted_file_fails_the_check_naming_the_path() {
    let db = TempDb::new();
    let store = db.open().await;
    store_session(&store, 1).await;

    std::fs::remove_file(&db.path).unwrap();

    let error = store.check_file().expect_err("the file is gone");
    assert_says_replaced(&db, &error);
    store.close().await;
}

#[tokio::test]
async fn a_file_replaced_by_a_new_database_fails_the_check_of_the_old_store_only() {
    let db = TempDb::new();
    let store = db.open().await;
    store_session(&store, 1).await;
    for name in ["lulu.db", "lulu.db-wal", "lulu.db-shm"] {
        let from = db.dir.path().join(name);
        if from.exists() {
            std::fs::rename(&from, db.dir.path().join(format!("old-{name}"))).unwrap();
        }
    }

    let new = db.open().await;

    let error = store.check_file().expect_err("the path names another file");
    assert_says_replaced(&db, &error);
    assert_eq!(new.check_file(), Ok(()));
    assert!(
        new.session(lulu_domain::testing::session_id(1))
            .await
            .unwrap()
            .is_none(),
        "the new file is another database"
    );
    new.close().await;
    store.close().await;
}

#[tokio::test]
async fn a_write_failing_after_the_file_was_deleted_says_the_file_is_gone() {
    let db = TempDb::new();
    let store = capped_store(&db).await;
    std::fs::remove_file(&db.path).unwrap();

    // Writes to the deleted file succeed until its cap makes one fail.
    let (_, error) = fill_until_a_write_fails(&store).await;

    assert_says_replaced(&db, &error);
    store.close().await;
}
