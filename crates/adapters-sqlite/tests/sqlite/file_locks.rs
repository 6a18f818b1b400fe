//! SQLite's WAL safety rests on the POSIX locks each process holds on the database file;
//! closing any descriptor of the file drops them all, so the store never opens it outside
//! SQLite.

use std::os::unix::fs::MetadataExt as _;

use lulu_domain::ports::SessionStore as _;
use lulu_domain::testing::session_id;

use crate::fixture::{store_session, TempDb};

/// Whether `/proc/locks` lists a POSIX lock of this process on `inode`.
fn this_process_locks(inode: u64) -> bool {
    let pid = std::process::id().to_string();
    let locks = std::fs::read_to_string("/proc/locks").expect("procfs lists locks");
    locks.lines().any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.get(1) == Some(&"POSIX")
            && fields.get(4) == Some(&pid.as_str())
            && fields
                .get(5)
                .and_then(|file| file.rsplit(':').next())
                .and_then(|ino| ino.parse::<u64>().ok())
                == Some(inode)
    })
}

#[tokio::test]
async fn an_open_store_holds_sqlites_lock_on_the_database_file() {
    let db = TempDb::new();
    let store = db.open().await;
    store_session(&store, 1).await;
    store.session(session_id(1)).await.expect("a read");
    // A second store in the same process (a reopen, another component) must not cost the
    // first its locks either.
    let second = db.open().await;
    second.session(session_id(1)).await.expect("a read");

    // `stat`, not `open`: reading the inode number takes no descriptor.
    let inode = std::fs::metadata(&db.path).unwrap().ino();
    let held = this_process_locks(inode);

    second.close().await;
    store.close().await;
    assert!(held, "this process holds no lock on the database file");
}
