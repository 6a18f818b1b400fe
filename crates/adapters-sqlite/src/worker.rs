//! A thread that owns one SQLite connection and runs jobs on it, so async callers never
//! block their runtime: they send a closure and await its answer.

use std::sync::mpsc;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use crate::error::{DbError, OpenError};
use crate::group::{GroupedWrite, Grouping};

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// What a connection thread is asked to do.
enum Message {
    /// Run this on the connection.
    Job(Job),
    /// Run this in a transaction it may share with the grouped writes queued with it.
    Grouped(GroupedWrite),
    /// Close the connection, say so, and end the thread.
    Close(oneshot::Sender<()>),
}

/// The sending side of a connection thread. The thread ends (closing its connection) when
/// asked to [`close`](Self::close), or when the last clone of its `Worker` is dropped and
/// the queued jobs are done.
#[derive(Debug, Clone)]
pub(crate) struct Worker {
    messages: mpsc::Sender<Message>,
}

impl Worker {
    /// Starts a thread named `name`, opens its connection there with `open`, and returns
    /// once the connection is ready (or could not be opened).
    pub async fn start(
        name: &str,
        open: impl FnOnce() -> Result<Connection, OpenError> + Send + 'static,
        path: &std::path::Path,
    ) -> Result<Self, OpenError> {
        let (messages, queue) = mpsc::channel::<Message>();
        let (opened_tx, opened) = oneshot::channel();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let mut connection = match open() {
                    Ok(connection) => {
                        let _ = opened_tx.send(Ok(()));
                        connection
                    }
                    Err(error) => {
                        let _ = opened_tx.send(Err(error));
                        return;
                    }
                };
                let mut grouping = Grouping::default();
                let mut next = None;
                while let Some(message) = next.take().or_else(|| queue.recv().ok()) {
                    match message {
                        Message::Job(job) => job(&mut connection),
                        Message::Grouped(write) => {
                            next = grouping.gather_and_commit(
                                &mut connection,
                                write,
                                &queue,
                                |message| match message {
                                    Message::Grouped(write) => Ok(write),
                                    other => Err(other),
                                },
                            );
                        }
                        Message::Close(closed) => {
                            close(connection);
                            let _ = closed.send(());
                            return;
                        }
                    }
                }
            })
            .map_err(|source| OpenError::Thread {
                path: path.to_owned(),
                source,
            })?;
        match opened.await {
            Ok(Ok(())) => Ok(Self { messages }),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(OpenError::Thread {
                path: path.to_owned(),
                source: std::io::Error::other("the database thread stopped while opening"),
            }),
        }
    }

    /// Runs `work` on the connection and returns its result.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let (answer_tx, answer) = oneshot::channel();
        let job: Job = Box::new(move |connection| {
            let _ = answer_tx.send(work(connection));
        });
        self.messages
            .send(Message::Job(job))
            .map_err(|_| DbError::WorkerGone)?;
        answer.await.map_err(|_| DbError::WorkerGone)?
    }

    /// Closes the connection once the jobs queued before are done, and waits for that.
    /// Later jobs fail with [`DbError::WorkerGone`].
    pub async fn close(&self) {
        let (closed_tx, closed) = oneshot::channel();
        if self.messages.send(Message::Close(closed_tx)).is_ok() {
            // An error means the thread is gone already: closed either way.
            let _ = closed.await;
        }
    }

    /// Runs `work` in one IMMEDIATE transaction: all of it is committed, or none of it.
    pub async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        self.transaction(TransactionBehavior::Immediate, work).await
    }

    /// Runs `work` in an IMMEDIATE transaction it may share with other grouped writes
    /// queued at the same time (see [`crate::group`]), inside a savepoint of its own: all of
    /// it is committed, or none of it. Answered once
    /// the shared transaction's commit is known.
    pub async fn write_grouped<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let (write, answer) = GroupedWrite::new(work);
        self.messages
            .send(Message::Grouped(write))
            .map_err(|_| DbError::WorkerGone)?;
        answer.await.map_err(|_| DbError::WorkerGone)?
    }

    /// Runs `work` in one read transaction, so every query in it sees the same snapshot.
    pub async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        self.transaction(TransactionBehavior::Deferred, work).await
    }

    async fn transaction<T: Send + 'static>(
        &self,
        behavior: TransactionBehavior,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        self.run(move |connection| {
            let transaction = connection.transaction_with_behavior(behavior)?;
            let value = work(&transaction)?;
            transaction.commit()?;
            Ok(value)
        })
        .await
    }
}

fn close(connection: Connection) {
    if let Err((_, error)) = connection.close() {
        tracing::warn!(%error, "the database connection did not close cleanly");
    }
}
