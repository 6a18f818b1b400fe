//! The database's change feed as the daemon's watchers see it: what other daemons and
//! processes sharing the database change, read from the feed every [`FEED_PERIOD`] while
//! at least one watcher is subscribed, and not at all otherwise.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, Mutex, Notify};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use lulu_domain::ports::{ChangeCursor, Changes};
use lulu_domain::{RunId, Session, SessionId};

use crate::error::RuntimeError;
use crate::protocol::Change;
use crate::Runtime;

/// How often the feed is read while someone watches.
pub(super) const FEED_PERIOD: Duration = Duration::from_millis(100);
/// How many changes a slow watcher may fall behind before it is told to resynchronise.
const FEED_BACKLOG: usize = 1024;

/// One reader of the change feed for every watcher of a daemon.
pub(super) struct ChangeFeed {
    runtime: Arc<Runtime>,
    changes: broadcast::Sender<Change>,
    /// Where the feed has been read to; `None` while nobody watches (it is not read).
    cursor: Mutex<Option<ChangeCursor>>,
    subscribed: Notify,
}

impl ChangeFeed {
    /// A feed over `runtime`'s database, not read until someone subscribes.
    pub(super) fn new(runtime: Arc<Runtime>) -> Self {
        Self {
            runtime,
            changes: broadcast::channel(FEED_BACKLOG).0,
            cursor: Mutex::new(None),
            subscribed: Notify::new(),
        }
    }

    /// The changes stored from now on, by any process: every change committed after
    /// this returns reaches the receiver.
    ///
    /// # Errors
    /// [`RuntimeError::Store`] when the feed's position cannot be read.
    pub(super) async fn subscribe(&self) -> Result<broadcast::Receiver<Change>, RuntimeError> {
        let mut cursor = self.cursor.lock().await;
        if cursor.is_none() {
            *cursor = Some(self.runtime.change_cursor().await?);
        }
        let receiver = self.changes.subscribe();
        drop(cursor);
        self.subscribed.notify_one();
        Ok(receiver)
    }

    /// Reads the feed every [`FEED_PERIOD`] while anyone is subscribed, until `stop`.
    pub(super) async fn run(self: Arc<Self>, stop: CancellationToken) {
        let mut failing = false;
        loop {
            let watched = self.cursor.lock().await.is_some();
            let wait = async {
                if watched {
                    tokio::time::sleep(FEED_PERIOD).await;
                } else {
                    self.subscribed.notified().await;
                }
            };
            tokio::select! {
                () = stop.cancelled() => return,
                () = wait => {}
            }
            let mut cursor = self.cursor.lock().await;
            let Some(from) = *cursor else {
                continue;
            };
            match self.runtime.changes_since(from).await {
                Ok(changes) => {
                    failing = false;
                    *cursor = Some(changes.cursor);
                    for change in as_changes(changes) {
                        let _ = self.changes.send(change);
                    }
                }
                Err(error) if !failing => {
                    failing = true;
                    warn!(%error, "cannot read the change feed; watchers miss other processes' changes until it can");
                }
                Err(_) => {}
            }
            if self.changes.receiver_count() == 0 {
                debug!("no watcher left: the change feed is not read");
                *cursor = None;
            }
        }
    }
}

/// The feed's changes as watchers are told them: saved sessions, grown transcripts,
/// then deletions.
fn as_changes(changes: Changes) -> impl Iterator<Item = Change> {
    let sessions = changes
        .sessions
        .into_iter()
        .map(|session| Change::Session { session });
    let transcripts = changes
        .transcripts
        .into_iter()
        .map(|run| Change::Transcript {
            session_id: run.session_id,
            run_id: run.run_id,
            last_seq: run.last_seq,
        });
    let deleted = changes.deleted.into_iter().map(|id| Change::Deleted { id });
    sessions.chain(transcripts).chain(deleted)
}

/// What one watcher was told, so a change it heard from the daemon itself and again
/// from the feed is told once, and a value older than one told is not told at all.
#[derive(Default)]
pub(super) struct Told {
    sessions: HashMap<SessionId, Session>,
    transcripts: HashMap<RunId, u64>,
    deleted: HashSet<SessionId>,
}

impl Told {
    /// Whether `change` tells this watcher something new; notes it if so.
    pub(super) fn is_news(&mut self, change: &Change) -> bool {
        match change {
            Change::Session { session } => {
                // The same value again, or an older one (the feed read it before the
                // daemon's newer push arrived): nothing new.
                let stale = self
                    .sessions
                    .get(&session.id)
                    .is_some_and(|told| told == session || told.updated_at > session.updated_at);
                if stale || self.deleted.contains(&session.id) {
                    return false;
                }
                self.sessions.insert(session.id, session.clone());
                true
            }
            Change::Transcript {
                run_id, last_seq, ..
            } => {
                if self
                    .transcripts
                    .get(run_id)
                    .is_some_and(|told| told >= last_seq)
                {
                    return false;
                }
                self.transcripts.insert(*run_id, *last_seq);
                true
            }
            Change::Deleted { id } => {
                self.sessions.remove(id);
                self.deleted.insert(*id)
            }
            Change::Resync => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use lulu_domain::ports::MockControlStore;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_feed_is_read_only_while_someone_watches_and_tells_what_it_reads() {
        let reads = Arc::new(AtomicUsize::new(0));
        let mut control = MockControlStore::new();
        control
            .expect_change_cursor()
            .returning(|| Ok(ChangeCursor::from_value(7)));
        control.expect_changes_since().returning({
            let reads = Arc::clone(&reads);
            move |cursor| {
                reads.fetch_add(1, Ordering::SeqCst);
                // Another process saved one session after position 7.
                let sessions = if cursor.value() == 7 {
                    vec![lulu_domain::testing::sample_session(1)]
                } else {
                    Vec::new()
                };
                Ok(Changes {
                    cursor: ChangeCursor::from_value(8),
                    sessions,
                    ..Changes::default()
                })
            }
        });
        let runtime = Arc::new(crate::runtime::tests::runtime(control));
        let feed = Arc::new(ChangeFeed::new(runtime));
        let stop = CancellationToken::new();
        let reader = tokio::spawn(Arc::clone(&feed).run(stop.clone()));

        tokio::time::sleep(FEED_PERIOD * 10).await;
        assert_eq!(reads.load(Ordering::SeqCst), 0, "read with nobody watching");
        let mut watcher = feed.subscribe().await.unwrap();
        let told = watcher.recv().await.unwrap();
        drop(watcher);
        tokio::time::sleep(FEED_PERIOD * 3).await;
        let after_the_watcher_left = reads.load(Ordering::SeqCst);
        tokio::time::sleep(FEED_PERIOD * 10).await;
        stop.cancel();
        reader.await.unwrap();

        assert_eq!(
            told,
            Change::Session {
                session: lulu_domain::testing::sample_session(1)
            }
        );
        assert_eq!(reads.load(Ordering::SeqCst), after_the_watcher_left);
    }

    #[test]
    fn a_change_heard_twice_is_told_once_and_an_older_transcript_position_not_at_all() {
        let mut told = Told::default();
        let session = lulu_domain::testing::sample_session(1);
        let saved = Change::Session {
            session: session.clone(),
        };
        assert!(told.is_news(&saved));
        assert!(!told.is_news(&saved));
        let mut changed = session.clone();
        changed.resume_count += 1;
        changed.updated_at += chrono::Duration::seconds(1);
        assert!(told.is_news(&Change::Session { session: changed }));
        assert!(
            !told.is_news(&saved),
            "an older value read late is not news"
        );
        let run_id = lulu_domain::RunId::from_uuid(uuid::Uuid::from_u128(9));
        let grew = |last_seq| Change::Transcript {
            session_id: session.id,
            run_id,
            last_seq,
        };
        assert!(told.is_news(&grew(5)));
        assert!(!told.is_news(&grew(3)));
        assert!(told.is_news(&grew(6)));
        let deleted = Change::Deleted { id: session.id };
        assert!(told.is_news(&deleted));
        assert!(!told.is_news(&deleted));
        assert!(!told.is_news(&saved), "nothing of a deleted session after");
    }
}
