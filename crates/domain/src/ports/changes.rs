//! The change feed's types: a cursor over every stored change to any session, by any
//! process sharing the database, and what changed after it. Read through
//! [`ControlStore::changes_since`](super::ControlStore::changes_since).

use crate::ids::{RunId, SessionId};
use crate::session::Session;

/// A position in the change feed. [`ChangeCursor::START`] comes before every change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChangeCursor(u64);

impl ChangeCursor {
    /// Before every change: the first poll returns everything.
    pub const START: Self = Self(0);

    /// The counter value, for logs and for keeping a cursor across restarts.
    pub const fn value(self) -> u64 {
        self.0
    }

    /// A cursor at a counter value previously read with [`Self::value`].
    pub const fn from_value(value: u64) -> Self {
        Self(value)
    }
}

/// A run whose transcript grew.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TranscriptProgress {
    /// The session the run belongs to.
    pub session_id: SessionId,
    /// The run.
    pub run_id: RunId,
    /// The highest stored `seq`: read `events_after` your last seen seq to catch up.
    pub last_seq: u64,
}

/// Everything that changed after a cursor.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Changes {
    /// Pass this to the next poll.
    pub cursor: ChangeCursor,
    /// Sessions saved since (their current value), oldest change first.
    pub sessions: Vec<Session>,
    /// Sessions deleted since.
    pub deleted: Vec<SessionId>,
    /// Runs whose transcripts grew since.
    pub transcripts: Vec<TranscriptProgress>,
}
