//! Group commit: transcript appends queued on the writer thread together share one
//! transaction, each in a savepoint of its own, so each is still all or nothing.
//!
//! A commit costs more than the rows of a small batch (the WAL frames, the locks, the
//! thread's wake-up), and a daemon with many live sessions stores many small batches, one
//! per session and line. Once appends have queued up behind one another (a group of more
//! than one: several runs write at once), the writer also sleeps a moment ([`LINGER`]) and
//! takes what queued meanwhile before it commits (one wake-up a group, not one an append),
//! for as long as that keeps gathering more than one. A lone run
//! never waits: it awaits each append before its next, so its appends never queue up (a
//! single session streaming, an interrupt settling, runs one after another). A write of
//! another kind (a session's state) that queues during the sleep waits for its end: at most
//! [`LINGER`] more, and only while many runs write at once.
//! Nothing is answered before its group's commit: a caller told "stored" is stored.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use crate::error::DbError;

/// How long a group waits for more appends while appends queue up behind one another.
/// At 200 runs streaming slowly, 25 ms gathers about ten appends a commit and takes the
/// daemon's CPU from about 9 % of a core to 8 % (10 ms: about 9 %); a follower sees a line
/// at most this much later, and only while many runs write at once.
pub(crate) const LINGER: Duration = Duration::from_millis(25);
/// Most appends in one group.
const MAX_GROUP: usize = 256;

/// Answers a grouped write's caller once its group's commit is known: with its value
/// (`None`: committed) or an error.
type Deliver = Box<dyn FnOnce(Option<DbError>) + Send>;

/// What a grouped write's work left: its own failure, if any, and how to answer.
struct Staged {
    /// Why it failed (it was rolled back alone), if it did.
    failure: Option<DbError>,
    /// Answers its caller.
    deliver: Deliver,
}

/// A grouped write's work: run in the group's transaction, or told it cannot run.
type Work = Box<dyn FnOnce(Result<&Transaction<'_>, DbError>) -> Staged + Send>;

/// One grouped write, run inside the group's transaction.
pub(crate) struct GroupedWrite(Work);

impl GroupedWrite {
    /// A grouped write of `work`, and where its answer will come.
    pub(crate) fn new<T: Send + 'static>(
        work: impl FnOnce(&Transaction<'_>) -> Result<T, DbError> + Send + 'static,
    ) -> (Self, oneshot::Receiver<Result<T, DbError>>) {
        let (answer_tx, answer) = oneshot::channel();
        let work: Work = Box::new(move |transaction| {
            let (failure, value) = match transaction.and_then(work) {
                Ok(value) => (None, Some(value)),
                Err(error) => (Some(error), None),
            };
            Staged {
                failure,
                deliver: Box::new(move |error| {
                    let answer = match (error, value) {
                        (None, Some(value)) => Ok(value),
                        (Some(error), _) => Err(error),
                        (None, None) => Err(DbError::Invalid(
                            "a failed write was reported as committed".to_owned(),
                        )),
                    };
                    let _ = answer_tx.send(answer);
                }),
            }
        });
        (Self(work), answer)
    }

    /// Tells the caller the write failed with `error` without running it.
    fn fail(self, error: &DbError) {
        let staged = (self.0)(Err(error.replicate()));
        (staged.deliver)(staged.failure);
    }
}

/// The writer thread's memory of recent grouped writes.
#[derive(Default)]
pub(crate) struct Grouping {
    /// The last group gathered more than one write: writers queue up, so the next one
    /// waits for more.
    lingering: bool,
}

impl Grouping {
    /// Gathers `first` and the grouped writes queued after it (lingering while several runs
    /// write), commits them, and returns the message that ended the gathering, if any: it
    /// must run next, after the group, to keep the queue's order.
    pub(crate) fn gather_and_commit<M>(
        &mut self,
        connection: &mut Connection,
        first: GroupedWrite,
        queue: &Receiver<M>,
        as_grouped: impl Fn(M) -> Result<GroupedWrite, M>,
    ) -> Option<M> {
        let began = Instant::now();
        let mut group = vec![first];
        let mut next = None;
        while group.len() < MAX_GROUP {
            let received = match queue.try_recv() {
                Ok(message) => Some(message),
                Err(TryRecvError::Disconnected) => None,
                Err(TryRecvError::Empty) => {
                    // Sleep through the linger rather than wake for each arrival: at 200
                    // streaming runs that is a few wake-ups a commit instead of one an append.
                    if let Some(deadline) = self.linger_until(began, Instant::now()) {
                        std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
                        continue;
                    }
                    None
                }
            };
            let Some(message) = received else { break };
            match as_grouped(message) {
                Ok(write) => group.push(write),
                Err(other) => {
                    next = Some(other);
                    break;
                }
            }
        }
        self.lingering = group.len() > 1;
        commit(connection, group);
        next
    }

    /// Until when a group begun at `began` waits for more, seen at `now`, if it waits at
    /// all: only while writes queue up behind one another.
    fn linger_until(&self, began: Instant, now: Instant) -> Option<Instant> {
        let deadline = began + LINGER;
        (self.lingering && now < deadline).then_some(deadline)
    }
}

/// Runs the writes in one IMMEDIATE transaction, each in its own savepoint, and answers
/// each once the commit is known. A write that fails is rolled back alone; an error that
/// makes SQLite roll back the whole transaction fails the writes run in it so far, and
/// those not run yet go on in a new one.
fn commit(connection: &mut Connection, group: Vec<GroupedWrite>) {
    let mut waiting: VecDeque<GroupedWrite> = group.into();
    while !waiting.is_empty() {
        let transaction = match connection.transaction_with_behavior(TransactionBehavior::Immediate)
        {
            Ok(transaction) => transaction,
            Err(error) => {
                let error = DbError::from(error);
                for write in waiting {
                    write.fail(&error);
                }
                return;
            }
        };
        let mut staged: Vec<Deliver> = Vec::with_capacity(waiting.len());
        let mut lost: Option<DbError> = None;
        while let Some(write) = waiting.pop_front() {
            if let Err(error) = transaction.execute_batch("SAVEPOINT lulu_grouped_write") {
                let error = DbError::from(error);
                write.fail(&error);
                lost = Some(error);
                break;
            }
            let Staged { failure, deliver } = (write.0)(Ok(&transaction));
            let Some(error) = failure else {
                staged.push(deliver);
                if let Err(error) = transaction.execute_batch("RELEASE lulu_grouped_write") {
                    lost = Some(error.into());
                    break;
                }
                continue;
            };
            if transaction.is_autocommit() {
                // SQLite rolled the whole transaction back (a full disk, an I/O error).
                lost = Some(error.replicate());
                deliver(Some(error));
                break;
            }
            let undone = transaction
                .execute_batch("ROLLBACK TO lulu_grouped_write; RELEASE lulu_grouped_write");
            deliver(Some(error));
            if let Err(error) = undone {
                lost = Some(error.into());
                break;
            }
        }
        let outcome = match lost {
            Some(error) => {
                drop(transaction); // rolls back what is left of it
                Err(error)
            }
            None => transaction.commit().map_err(DbError::from),
        };
        match outcome {
            Ok(()) => staged.into_iter().for_each(|deliver| deliver(None)),
            Err(error) => staged
                .into_iter()
                .for_each(|deliver| deliver(Some(error.replicate()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{mpsc, Arc};

    use super::*;

    fn connection() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let connection = Connection::open(dir.path().join("group.db")).unwrap();
        connection
            .execute_batch("CREATE TABLE lines (run INTEGER, n INTEGER)")
            .unwrap();
        (dir, connection)
    }

    /// Counts the commits made on `connection`.
    fn count_commits(connection: &mut Connection) -> Arc<AtomicUsize> {
        let commits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&commits);
        connection
            .commit_hook(Some(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                false
            }))
            .unwrap();
        commits
    }

    type Answer = oneshot::Receiver<Result<(), DbError>>;

    /// A grouped write of run `run` inserting line `n`, failing after the insert if asked.
    fn insert(run: u128, n: i64, fails: bool) -> (GroupedWrite, Answer) {
        GroupedWrite::new(move |transaction| {
            transaction.execute(
                "INSERT INTO lines (run, n) VALUES (?1, ?2)",
                rusqlite::params![i64::try_from(run).unwrap(), n],
            )?;
            if fails {
                return Err(DbError::Invalid(format!("line {n} refused")));
            }
            Ok(())
        })
    }

    fn stored(connection: &Connection) -> Vec<i64> {
        let mut query = connection
            .prepare("SELECT n FROM lines ORDER BY n")
            .unwrap();
        query
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    enum Message {
        Grouped(GroupedWrite),
        Other(&'static str),
    }

    fn as_grouped(message: Message) -> Result<GroupedWrite, Message> {
        match message {
            Message::Grouped(write) => Ok(write),
            other @ Message::Other(_) => Err(other),
        }
    }

    #[test]
    fn writes_queued_together_share_one_commit_and_are_answered_after_it() {
        let (_dir, mut connection) = connection();
        let commits = count_commits(&mut connection);
        let (queue_tx, queue) = mpsc::channel();
        let (first, first_answer) = insert(1, 1, false);
        let mut answers = vec![first_answer];
        for n in 2..=4 {
            let (write, answer) = insert(1 + u128::from(n % 2 == 0), n.into(), false);
            queue_tx.send(Message::Grouped(write)).unwrap();
            answers.push(answer);
        }

        let next =
            Grouping::default().gather_and_commit(&mut connection, first, &queue, as_grouped);

        assert!(next.is_none());
        assert_eq!(commits.load(Ordering::SeqCst), 1);
        assert_eq!(stored(&connection), [1, 2, 3, 4]);
        for mut answer in answers {
            assert!(matches!(answer.try_recv(), Ok(Ok(()))));
        }
    }

    #[test]
    fn a_failing_write_is_undone_alone_and_told_why_while_the_others_commit() {
        let (_dir, mut connection) = connection();
        let (queue_tx, queue) = mpsc::channel();
        let (first, mut first_answer) = insert(1, 1, false);
        let (failing, mut failing_answer) = insert(2, 2, true);
        let (last, mut last_answer) = insert(3, 3, false);
        queue_tx.send(Message::Grouped(failing)).unwrap();
        queue_tx.send(Message::Grouped(last)).unwrap();

        Grouping::default().gather_and_commit(&mut connection, first, &queue, as_grouped);

        assert_eq!(stored(&connection), [1, 3]);
        assert!(matches!(first_answer.try_recv(), Ok(Ok(()))));
        assert!(matches!(last_answer.try_recv(), Ok(Ok(()))));
        let refused = failing_answer.try_recv().unwrap().unwrap_err();
        assert!(matches!(refused, DbError::Invalid(message) if message == "line 2 refused"));
    }

    #[test]
    fn other_work_ends_the_group_and_is_handed_back_to_run_next() {
        let (_dir, mut connection) = connection();
        let (queue_tx, queue) = mpsc::channel();
        let (first, _first_answer) = insert(1, 1, false);
        let (after, mut after_answer) = insert(1, 2, false);
        queue_tx.send(Message::Other("a session saved")).unwrap();
        queue_tx.send(Message::Grouped(after)).unwrap();

        let next =
            Grouping::default().gather_and_commit(&mut connection, first, &queue, as_grouped);

        assert!(matches!(next, Some(Message::Other("a session saved"))));
        assert_eq!(stored(&connection), [1]);
        assert!(
            after_answer.try_recv().is_err(),
            "queued behind the other work"
        );
    }

    #[test]
    fn a_group_lingers_only_after_writes_queued_up_and_as_long_as_they_do() {
        let (_dir, mut connection) = connection();
        let (queue_tx, queue) = mpsc::channel();
        let start = Instant::now();
        let mut grouping = Grouping::default();
        assert_eq!(
            grouping.linger_until(start, start),
            None,
            "nothing queued yet"
        );

        let (first, _) = insert(1, 1, false);
        grouping.gather_and_commit(&mut connection, first, &queue, as_grouped);
        assert_eq!(grouping.linger_until(start, start), None, "a lone write");

        let (first, _) = insert(1, 2, false);
        let (queued, _) = insert(2, 3, false);
        queue_tx.send(Message::Grouped(queued)).unwrap();
        grouping.gather_and_commit(&mut connection, first, &queue, as_grouped);
        assert_eq!(grouping.linger_until(start, start), Some(start + LINGER));
        assert_eq!(
            grouping.linger_until(start, start + LINGER),
            None,
            "waited long enough"
        );

        // Lingering gathered nothing more: the next group goes at once again.
        let (first, _) = insert(1, 4, false);
        grouping.gather_and_commit(&mut connection, first, &queue, as_grouped);
        assert_eq!(grouping.linger_until(start, start), None);
        assert_eq!(stored(&connection), [1, 2, 3, 4]);
    }
}
