//! The update publisher port: how the supervisor announces what it has stored.

use tokio::sync::broadcast;

use crate::agent::TranscriptEntry;
use crate::ids::SessionId;
use crate::session::Session;

/// Something subscribers should know. Always announced after it was stored.
#[allow(clippy::large_enum_variant)] // short-lived values; boxing would only add noise at every use
#[derive(Debug, Clone, PartialEq)]
pub enum SessionUpdate {
    /// A session's new value.
    Session(Session),
    /// New transcript entries of a session's active run.
    Transcript {
        /// The session.
        session_id: SessionId,
        /// The entries, in `seq` order.
        entries: Vec<TranscriptEntry>,
    },
    /// Text of the reply a live run is writing, as it streams. Not stored (the complete
    /// block follows as a transcript entry): for live views only.
    TextDelta {
        /// The session.
        session_id: SessionId,
        /// Its run that writes it.
        run_id: crate::ids::RunId,
        /// The new text.
        text: String,
    },
    /// A session was deleted with its runs and transcript.
    Deleted(SessionId),
    /// Transcript lines of a live run could not be stored and were dropped (the database
    /// or disk is full, say). The count reaches the session's `lost_events` once it can be
    /// stored; this says why, even when nothing can be.
    LinesLost {
        /// The session.
        session_id: SessionId,
        /// How many lines were dropped.
        lines: u64,
        /// Why the store refused them, in plain words.
        reason: String,
    },
    /// A live session's run has ended, but its end could not be stored (the database or
    /// disk is full, say). Nothing about the stored session changed: the owner keeps the
    /// final value and retries storing it until it succeeds, when a `Session` update follows.
    EndNotStored {
        /// The session.
        session_id: SessionId,
        /// The status it will have once stored.
        status: crate::session::SessionStatus,
        /// Why the store refused, in plain words.
        reason: String,
    },
}

/// Announces updates to subscribers.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait UpdatePublisher: Send + Sync {
    /// Announces one update; never blocks and never fails (slow subscribers lag).
    fn publish(&self, update: SessionUpdate);

    /// A new subscription, seeing updates published from now on.
    fn subscribe(&self) -> broadcast::Receiver<SessionUpdate>;
}

/// A tokio broadcast channel: subscribers that fall behind by `capacity` updates lag.
#[derive(Debug, Clone)]
pub struct BroadcastUpdates {
    sender: broadcast::Sender<SessionUpdate>,
}

impl BroadcastUpdates {
    /// A publisher keeping up to `capacity` updates for slow subscribers.
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Self { sender }
    }
}

impl Default for BroadcastUpdates {
    /// Capacity 1024.
    fn default() -> Self {
        Self::new(1024)
    }
}

impl UpdatePublisher for BroadcastUpdates {
    fn publish(&self, update: SessionUpdate) {
        // No subscriber is not an error: the update is already stored.
        let _ = self.sender.send(update);
    }

    fn subscribe(&self) -> broadcast::Receiver<SessionUpdate> {
        self.sender.subscribe()
    }
}
