//! The streams: *follow* pushes one session's changes and transcript to a client until
//! it settles, with no gap and no repeat (stored entries first, then live ones; after a
//! lag the store fills the gap); *watch* pushes every change to any session, this
//! daemon's and (through the change feed) other processes'.

use tokio::io::{BufReader, Lines};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::broadcast::error::RecvError;

use lulu_domain::ports::SessionUpdate;
use lulu_domain::{SessionId, TranscriptEntry};

use super::feed::Told;
use super::serve::{send, Daemon};
use crate::error::RuntimeError;
use crate::protocol::{Change, FollowEvent, Response};

/// How many stored entries one read takes.
const PAGE: usize = 500;

/// Where a follower is: the run it follows and the last entry it was sent.
struct Cursor {
    run: Option<lulu_domain::RunId>,
    last_seq: Option<u64>,
}

impl Daemon {
    /// Streams `id` to `write` until it settles or the client goes.
    pub(super) async fn follow(
        &self,
        id: SessionId,
        after: Option<u64>,
        write: &mut OwnedWriteHalf,
    ) -> std::io::Result<()> {
        // Subscribed before the first read: nothing falls between the two.
        let mut updates = self.runtime.subscribe();
        let session = match self.runtime.session(id).await {
            Ok(session) => session,
            Err(error) => return send(write, &refusal(&error)).await,
        };
        let mut cursor = Cursor {
            run: session.active_run_id,
            last_seq: after,
        };
        event(
            write,
            FollowEvent::Session {
                session: session.clone(),
            },
        )
        .await?;
        self.catch_up(&mut cursor, write).await?;
        if !session.status.is_live() {
            return event(write, FollowEvent::Settled { session }).await;
        }
        loop {
            match updates.recv().await {
                Ok(SessionUpdate::Transcript {
                    session_id,
                    entries,
                }) if session_id == id => {
                    let fresh = cursor.fresh(entries);
                    if !fresh.is_empty() {
                        event(write, FollowEvent::Entries { entries: fresh }).await?;
                    }
                }
                Ok(SessionUpdate::TextDelta {
                    session_id,
                    run_id,
                    text,
                }) if session_id == id && Some(run_id) == cursor.run => {
                    event(write, FollowEvent::TextDelta { id, run_id, text }).await?;
                }
                Ok(SessionUpdate::LinesLost {
                    session_id,
                    lines,
                    reason,
                }) if session_id == id => {
                    event(write, FollowEvent::LinesLost { lines, reason }).await?;
                }
                Ok(SessionUpdate::EndNotStored {
                    session_id,
                    status,
                    reason,
                }) if session_id == id => {
                    event(write, FollowEvent::EndNotStored { status, reason }).await?;
                }
                Ok(SessionUpdate::Session(session)) if session.id == id => {
                    if session.active_run_id != cursor.run {
                        cursor = Cursor {
                            run: session.active_run_id,
                            last_seq: None,
                        };
                    }
                    if !session.status.is_live() {
                        self.catch_up(&mut cursor, write).await?;
                        return event(write, FollowEvent::Settled { session }).await;
                    }
                    event(write, FollowEvent::Session { session }).await?;
                }
                Ok(SessionUpdate::Deleted(deleted)) if deleted == id => {
                    return send(
                        write,
                        &refusal(&lulu_domain::SupervisorError::NotFound(id).into()),
                    )
                    .await;
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => self.catch_up(&mut cursor, write).await?,
                Err(RecvError::Closed) => return Ok(()),
            }
        }
    }

    /// Streams every change to any session to `write` until the client goes (its
    /// `read` half ends): this daemon's as it makes them, other processes' from the
    /// change feed, each told once. After a lag the watcher is told to read the sessions
    /// again.
    pub(super) async fn watch(
        &self,
        read: &mut Lines<BufReader<OwnedReadHalf>>,
        write: &mut OwnedWriteHalf,
    ) -> std::io::Result<()> {
        let mut updates = self.runtime.subscribe();
        let mut feed = match self.feed.subscribe().await {
            Ok(feed) => feed,
            Err(error) => return send(write, &refusal(&error)).await,
        };
        send(write, &Response::Watching).await?;
        let mut told = Told::default();
        loop {
            let change = tokio::select! {
                update = updates.recv() => match update {
                    Ok(update) => match own_change(update) {
                        Some(change) => change,
                        None => continue,
                    },
                    Err(RecvError::Lagged(_)) => Change::Resync,
                    Err(RecvError::Closed) => return Ok(()),
                },
                change = feed.recv() => match change {
                    Ok(change) => change,
                    Err(RecvError::Lagged(_)) => Change::Resync,
                    Err(RecvError::Closed) => return Ok(()),
                },
                line = read.next_line() => match line {
                    // A watcher sends nothing more; whatever it sends is ignored.
                    Ok(Some(_)) => continue,
                    Ok(None) | Err(_) => return Ok(()),
                },
            };
            if told.is_news(&change) {
                send(write, &Response::Change { change }).await?;
            }
        }
    }

    /// Sends the stored entries after the cursor.
    async fn catch_up(
        &self,
        cursor: &mut Cursor,
        write: &mut OwnedWriteHalf,
    ) -> std::io::Result<()> {
        let Some(run) = cursor.run else {
            return Ok(());
        };
        loop {
            let entries = match self.runtime.transcript(run, cursor.last_seq, PAGE).await {
                Ok(entries) => entries,
                Err(error) => {
                    tracing::warn!(%error, "a follower could not read the stored transcript");
                    return Ok(());
                }
            };
            let full = entries.len() == PAGE;
            let fresh = cursor.fresh(entries);
            if !fresh.is_empty() {
                event(write, FollowEvent::Entries { entries: fresh }).await?;
            }
            if !full {
                return Ok(());
            }
        }
    }
}

impl Cursor {
    /// The entries of the followed run after the last one sent; moves past them.
    fn fresh(&mut self, entries: Vec<TranscriptEntry>) -> Vec<TranscriptEntry> {
        let fresh: Vec<TranscriptEntry> = entries
            .into_iter()
            .filter(|entry| {
                Some(entry.run_id) == self.run && self.last_seq.is_none_or(|last| entry.seq > last)
            })
            .collect();
        if let Some(last) = fresh.last() {
            self.last_seq = Some(last.seq);
        }
        fresh
    }
}

/// What watchers are told of an update this daemon announced; `None` when nothing
/// stored changed.
fn own_change(update: SessionUpdate) -> Option<Change> {
    match update {
        SessionUpdate::Session(session) => Some(Change::Session { session }),
        SessionUpdate::Deleted(id) => Some(Change::Deleted { id }),
        SessionUpdate::Transcript {
            session_id,
            entries,
        } => entries.last().map(|last| Change::Transcript {
            session_id,
            run_id: last.run_id,
            last_seq: last.seq,
        }),
        // Nothing stored changed.
        SessionUpdate::EndNotStored { .. }
        | SessionUpdate::LinesLost { .. }
        | SessionUpdate::TextDelta { .. } => None,
    }
}

fn refusal(error: &RuntimeError) -> Response {
    Response::Error {
        code: error.code().to_owned(),
        message: error.to_string(),
    }
}

async fn event(write: &mut OwnedWriteHalf, event: FollowEvent) -> std::io::Result<()> {
    send(write, &Response::Event { event }).await
}
