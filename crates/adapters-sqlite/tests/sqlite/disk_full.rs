//! A full disk (a capped file) is a clear error, and what was committed before stays.

use lulu_domain::ports::{SessionStore as _, StoreError};
use lulu_domain::testing::run_id;

use crate::fixture::{big_lines, capped_store, fill_until_a_write_fails, integrity, TempDb};

#[tokio::test]
async fn a_full_database_is_a_clear_error_and_keeps_what_was_committed() {
    let db = TempDb::new();
    let store = capped_store(&db).await;

    let (committed, error) = fill_until_a_write_fails(&store).await;

    let StoreError::Full { message } = &error else {
        panic!("expected Full, got {error:?}");
    };
    assert!(
        message.contains(&db.path.display().to_string()),
        "{message}"
    );
    assert!(
        error.to_string().contains("free some disk space"),
        "{error}"
    );
    assert!(committed > 0, "some batches fit before the cap");
    let stored = store.events_after(run_id(1), None, 100_000).await.unwrap();
    assert_eq!(stored, big_lines(0, committed));
    store.close().await;
    assert_eq!(integrity(&db.path), "ok");
}
