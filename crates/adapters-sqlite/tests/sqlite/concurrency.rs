//! Two processes on one file: short write locks only delay callers, long ones fail clearly.

use std::time::{Duration, Instant};

use lulu_adapters_sqlite::{SqliteStore, StoreOptions};
use lulu_domain::ports::{SessionQuery, SessionStore as _, StoreError};
use lulu_domain::testing::run_id;
use lulu_domain::SessionStatus;

use crate::child::{write_and_read, ChildProcess};
use crate::fixture::{created, moved, TempDb};

const PATIENCE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_writing_and_reading_at_once_never_see_a_busy_error() {
    let db = TempDb::new();
    db.open().await.close().await; // created and migrated before both start
    let child = ChildProcess::spawn("writer", &db.path, "1");

    write_and_read(&db.path, 2).await;

    let (status, said) = tokio::task::spawn_blocking(move || child.wait(PATIENCE))
        .await
        .unwrap();
    assert!(status.success(), "the child failed: {status}");
    assert_eq!(said.last().map(String::as_str), Some("done"));
    let store = db.open().await;
    for n in [1, 2] {
        let transcript = store.events_after(run_id(n), None, 10_000).await.unwrap();
        assert_eq!(transcript.len(), 2000, "session {n} kept every line");
    }
}

#[tokio::test]
async fn a_write_lock_held_shorter_than_the_busy_timeout_only_delays_the_writer() {
    let db = TempDb::new();
    let store = SqliteStore::open(db.options().busy_timeout(Duration::from_secs(5)))
        .await
        .unwrap();
    let holder = ChildProcess::spawn("hold-write-lock", &db.path, "400");
    assert_eq!(holder.next_line(PATIENCE), "locked");

    let started = Instant::now();
    store.list_sessions(&SessionQuery::default()).await.unwrap();
    let read_took = started.elapsed();
    store.save(&created(1)).await.unwrap();
    let write_took = started.elapsed();

    assert!(
        read_took < Duration::from_millis(200),
        "reads do not wait: {read_took:?}"
    );
    assert!(
        write_took >= Duration::from_millis(100),
        "the write waited: {write_took:?}"
    );
    drop(holder.kill());
}

#[tokio::test]
async fn a_write_lock_held_longer_than_the_busy_timeout_fails_with_a_clear_busy_error() {
    let db = TempDb::new();
    let options = StoreOptions::new(&db.path).busy_timeout(Duration::from_millis(300));
    let store = SqliteStore::open(options).await.unwrap();
    store.save(&created(1)).await.unwrap();
    let holder = ChildProcess::spawn("hold-write-lock", &db.path, "20000");
    assert_eq!(holder.next_line(PATIENCE), "locked");

    let error = store
        .save(&moved(1, SessionStatus::Running, 10))
        .await
        .unwrap_err();

    let StoreError::Busy { message } = &error else {
        panic!("expected Busy, got {error:?}");
    };
    assert!(
        message.contains(&db.path.display().to_string()),
        "{message}"
    );
    assert!(message.contains("300 ms"), "{message}");
    assert!(error.to_string().contains("try again"), "{error}");
    let stored = store
        .session(lulu_domain::testing::session_id(1))
        .await
        .unwrap();
    assert_eq!(
        stored.unwrap().status,
        SessionStatus::Queued,
        "reads still work"
    );

    drop(holder.kill());
    store
        .save(&moved(1, SessionStatus::Running, 10))
        .await
        .expect("the lock died with its process");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_processes_opening_a_brand_new_file_at_once_all_succeed() {
    for _ in 0..10 {
        let db = TempDb::new();
        let opens: Vec<_> = (0..8)
            .map(|n| {
                let options = db.options().owner(crate::fixture::owner_id(n));
                tokio::spawn(async move { lulu_adapters_sqlite::SqliteStore::open(options).await })
            })
            .collect();
        for open in opens {
            let store = open.await.expect("the task ran");
            assert!(
                store.is_ok(),
                "opening a file another store is creating failed: {:?}",
                store.err()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_runs_appending_at_once_keep_every_batch_whole_and_a_refused_one_alone_is_lost() {
    const RUNS: u32 = 20;
    const BATCHES: u64 = 30;
    let db = TempDb::new();
    let store = db.open().await;
    for n in 1..=RUNS {
        crate::fixture::store_session(&store, n).await;
    }

    // Every run appends its batches as fast as it can, so their writes share commits; run
    // 1 also appends one batch again, which the store must refuse without touching the rest.
    let writers = (1..=RUNS).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            for batch in 0..BATCHES {
                let entries = crate::fixture::lines(run_id(n), batch * 3..batch * 3 + 3);
                store.append_events(&entries).await.unwrap();
                if n == 1 && batch == 10 {
                    let again = store.append_events(&entries).await;
                    assert!(again.is_err(), "a batch stored twice is refused");
                }
            }
        })
    });
    for writer in writers.collect::<Vec<_>>() {
        writer.await.unwrap();
    }

    for n in 1..=RUNS {
        let transcript = store.events_after(run_id(n), None, 10_000).await.unwrap();
        let seqs: Vec<u64> = transcript.iter().map(|entry| entry.seq).collect();
        assert_eq!(seqs, (0..BATCHES * 3).collect::<Vec<_>>(), "run {n}");
    }
}
