//! Crash safety: a writer killed with SIGKILL at random moments never loses a reported
//! commit and never leaves a damaged file.

use std::time::Duration;

use lulu_adapters_sqlite::SqliteStore;
use lulu_domain::testing::{run_id, session_id};

use crate::child::ChildProcess;
use crate::fixture::{integrity, raw, TempDb};

const KILLS: u32 = 50;

/// What the child reported before it died: the last committed seq and saved round.
fn last_reports(said: &[String]) -> (Option<u64>, Option<u32>) {
    let mut committed = None;
    let mut saved = None;
    for line in said {
        if let Some(seq) = line.strip_prefix("committed ") {
            committed = Some(seq.parse().expect("a seq"));
        } else if let Some(round) = line.strip_prefix("saved ") {
            saved = Some(round.parse().expect("a round"));
        }
    }
    (committed, saved)
}

#[tokio::test]
async fn a_writer_killed_at_random_moments_keeps_every_reported_commit() {
    let db = TempDb::new();
    db.open().await.close().await;
    let mut seed = fastrand::Rng::new();
    println!("crash test seed {}", seed.get_seed());

    let mut kills_after_commits = 0;
    let mut lines_reported = 0;
    for n in 1..=KILLS {
        let child = ChildProcess::spawn("crash-writer", &db.path, &n.to_string());
        let mut said = vec![child.next_line(Duration::from_secs(30))];
        assert_eq!(said[0], "ready");
        // The random moment of the kill is the point of the test, not a wait for state.
        std::thread::sleep(Duration::from_millis(seed.u64(0..40)));
        said.extend(child.kill());
        let (committed, saved) = last_reports(&said);

        assert_eq!(integrity(&db.path), "ok", "after kill {n}");
        let connection = raw(&db.path);
        let (count, highest): (u64, Option<u64>) = connection
            .query_row(
                "SELECT count(*), max(seq) FROM events e JOIN runs r ON r.key = e.run_key \
                 WHERE r.id = ?1",
                [run_id(n).to_string()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        if let Some(committed) = committed {
            kills_after_commits += 1;
            lines_reported += committed + 1;
            let highest = highest.expect("committed lines are stored");
            assert!(highest >= committed, "kill {n}: seq {committed} was lost");
            assert_eq!(count, highest + 1, "kill {n}: no gaps");
        }
        let resume_count: u32 = connection
            .query_row(
                "SELECT resume_count FROM sessions WHERE id = ?1",
                [session_id(n).to_string()],
                |row| row.get(0),
            )
            .unwrap();
        assert!(
            resume_count >= saved.unwrap_or(0),
            "kill {n}: saved round {saved:?} was lost"
        );
    }

    println!("{KILLS} kills, {kills_after_commits} after commits, {lines_reported} lines reported");
    assert!(
        kills_after_commits > KILLS / 2,
        "most kills land while the child is writing"
    );
    let store = SqliteStore::open(db.options())
        .await
        .expect("the file still opens");
    store.close().await;
}
