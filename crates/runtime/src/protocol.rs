//! The versioned protocol between the daemon and its clients, over a Unix socket.
//!
//! Newline-delimited JSON. On connecting, the client sends a [`Hello`]; the daemon answers
//! with its own [`Hello`] and, when the protocol versions differ, an error and closes.
//! After that the client sends one [`Request`] per line and reads one [`Response`] per
//! request, in order. Every type here is part of the protocol: change a shape, bump
//! [`PROTOCOL_VERSION`].

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use lulu_domain::{
    AgentOptions, ApprovalAnswer, OptionOverrides, RunId, Session, SessionId, SessionStatus,
    TranscriptEntry,
};

pub use crate::runtime::InterruptOutcome;

/// The version of this protocol; a daemon and a client of different versions refuse each other.
pub const PROTOCOL_VERSION: u32 = 5;

/// This Lulu's version, told in the hello.
pub const LULU_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The first line each side sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The protocol version the sender speaks.
    pub protocol: u32,
    /// The sender's Lulu version.
    pub lulu: String,
    /// The sender's process id (so a daemon of another version can still be stopped).
    pub pid: u32,
}

impl Hello {
    /// The hello of this build.
    pub fn current() -> Self {
        Self {
            protocol: PROTOCOL_VERSION,
            lulu: LULU_VERSION.to_owned(),
            pid: std::process::id(),
        }
    }
}

/// What a client asks the daemon.
#[allow(clippy::large_enum_variant)] // one per request line, never stored in bulk
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// Start a new session, owned by the daemon.
    Start {
        /// Optional title.
        title: Option<String>,
        /// Absolute working directory.
        cwd: String,
        /// The prompt.
        prompt: String,
        /// Agent options.
        options: AgentOptions,
    },
    /// Resume a settled session, owned by the daemon.
    Resume {
        /// The session.
        id: SessionId,
        /// The follow-up prompt.
        prompt: String,
        /// Options that differ for this run from the session's (since protocol 4).
        #[serde(default, skip_serializing_if = "OptionOverrides::is_empty")]
        options: OptionOverrides,
    },
    /// Interrupt a session (wherever its owner is) and wait for the outcome, answered
    /// with [`Response::InterruptOutcome`].
    Interrupt {
        /// The session.
        id: SessionId,
        /// Skip the grace period: stop the run's process tree now (an interrupt of it
        /// already under way is hurried too).
        #[serde(default)]
        force: bool,
    },
    /// Answer a permission request of a session that needs approval.
    Answer {
        /// The session.
        id: SessionId,
        /// The request; `None` for the oldest pending one.
        request_id: Option<String>,
        /// Allow, allow always, deny, or deny and stop.
        answer: ApprovalAnswer,
    },
    /// Write a follow-up message to a session's live run.
    Send {
        /// The session.
        id: SessionId,
        /// The message.
        text: String,
    },
    /// End a kept-open run that is idle between turns.
    Close {
        /// The session.
        id: SessionId,
    },
    /// Delete a session; a live one only with `force` (interrupted first).
    Delete {
        /// The session.
        id: SessionId,
        /// Interrupt it first if it is live.
        force: bool,
    },
    /// Follow a session until it settles: the connection then carries
    /// [`Response::Event`]s, the last one [`FollowEvent::Settled`].
    Follow {
        /// The session.
        id: SessionId,
        /// The last transcript `seq` of its active run the client has; `None` for all.
        after: Option<u64>,
    },
    /// Watch every change to any session, by this daemon (pushed as it makes them) or
    /// by any other process sharing its database (read from the change feed): answered
    /// with [`Response::Watching`] once subscribed, then the connection carries
    /// [`Response::Change`]s until the client or the daemon goes.
    Watch,
    /// The daemon's state.
    Status,
    /// Stop the daemon. With live runs only with `force`: they are interrupted (resumably).
    Shutdown {
        /// Interrupt live runs rather than refuse.
        force: bool,
    },
}

/// The daemon's answer to one request.
#[allow(clippy::large_enum_variant)] // one per request line, never stored in bulk
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "response", rename_all = "snake_case")]
pub enum Response {
    /// The session the request started, resumed, answered, wrote to or closed, as stored.
    Session {
        /// The session.
        session: Session,
    },
    /// What an interrupt came to (one that timed out is an error, `interrupt_timed_out`).
    InterruptOutcome(InterruptOutcome),
    /// The session is deleted.
    Deleted,
    /// The daemon's state.
    Status {
        /// The state.
        status: DaemonStatus,
    },
    /// The daemon stops: its live runs are being interrupted.
    ShuttingDown {
        /// How many live runs it interrupts.
        interrupting: usize,
    },
    /// One event of a followed session.
    Event {
        /// The event.
        event: FollowEvent,
    },
    /// The watch is subscribed: every change stored from now on will be told.
    Watching,
    /// One change a watcher is told of.
    Change {
        /// The change.
        change: Change,
    },
    /// The request failed.
    Error {
        /// A stable code.
        code: String,
        /// What failed, in words.
        message: String,
    },
}

/// What a follower of one session is told, in order: its session whenever it changes
/// (queued, starting, running: the run has started), its active run's transcript
/// entries in `seq` order with no gap and no repeat, and at last the settled session.
#[allow(clippy::large_enum_variant)] // one per line on the socket, never stored in bulk
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum FollowEvent {
    /// The session changed.
    Session {
        /// Its new value.
        session: Session,
    },
    /// New transcript entries of its active run.
    Entries {
        /// The entries, in `seq` order.
        entries: Vec<TranscriptEntry>,
    },
    /// Text of the reply the followed session's active run is writing, as it streams
    /// (the agent runs with `--include-partial-messages`). Never stored and never
    /// replayed: a follower that joins late, or lags, misses deltas, not text, because the
    /// complete block always follows in [`FollowEvent::Entries`] as an assistant-text
    /// entry. Show it live (append `text` to the reply in progress) and let that entry
    /// replace it.
    TextDelta {
        /// The session.
        id: SessionId,
        /// The run writing it.
        run_id: RunId,
        /// The new text, to append to what came before it.
        text: String,
    },
    /// Transcript lines of the run could not be stored and were dropped (a full disk);
    /// the session's `lost_events` counts them once it can be stored.
    LinesLost {
        /// How many lines.
        lines: u64,
        /// Why they could not be stored.
        reason: String,
    },
    /// The run ended but its end cannot be stored yet (a full disk); it is retried.
    EndNotStored {
        /// The status it will have.
        status: SessionStatus,
        /// Why it cannot be stored.
        reason: String,
    },
    /// The session settled; the last event.
    Settled {
        /// Its final value.
        session: Session,
    },
}

/// A change to some session, pushed to watchers as the daemon makes it, or as it reads
/// it from the change feed (made by another process).
#[allow(clippy::large_enum_variant)] // one per line on the socket, never stored in bulk
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A session was created or changed; its new value.
    Session {
        /// The session.
        session: Session,
    },
    /// A session was deleted.
    Deleted {
        /// The session.
        id: SessionId,
    },
    /// A session's transcript grew.
    Transcript {
        /// The session.
        session_id: SessionId,
        /// Its run.
        run_id: RunId,
        /// The last entry's `seq`.
        last_seq: u64,
    },
    /// The watcher fell behind and changes were dropped: read the sessions again.
    Resync,
}

/// What a daemon says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonStatus {
    /// Its process id.
    pub pid: u32,
    /// Its hello.
    pub hello: Hello,
    /// The database it owns runs of.
    pub db: PathBuf,
    /// Its socket.
    pub socket: PathBuf,
    /// Its log.
    pub log: PathBuf,
    /// The agent binary it runs.
    pub claude_bin: PathBuf,
    /// The live sessions it owns.
    pub live: Vec<SessionId>,
    /// Clients connected now (this one included).
    pub clients: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_responses_travel_as_tagged_json() {
        let request = Request::Resume {
            id: lulu_domain::testing::session_id(1),
            prompt: "go on".into(),
            options: OptionOverrides::default(),
        };
        let json = serde_json::to_string(&request).unwrap();
        assert_eq!(
            json,
            r#"{"request":"resume","id":"a0000001-0000-0000-0000-000000000000","prompt":"go on"}"#
        );
        assert_eq!(serde_json::from_str::<Request>(&json).unwrap(), request);
        let overriding = Request::Resume {
            id: lulu_domain::testing::session_id(1),
            prompt: "go on".into(),
            options: OptionOverrides {
                allowed_tools: Some(vec!["Bash".into()]),
                max_turns: Some(3),
                ..OptionOverrides::default()
            },
        };
        let json = serde_json::to_string(&overriding).unwrap();
        assert_eq!(
            json,
            r#"{"request":"resume","id":"a0000001-0000-0000-0000-000000000000","prompt":"go on","options":{"allowed_tools":["Bash"],"max_turns":3}}"#
        );
        assert_eq!(serde_json::from_str::<Request>(&json).unwrap(), overriding);
        let deny = Request::Answer {
            id: lulu_domain::testing::session_id(1),
            request_id: Some("r1".into()),
            answer: ApprovalAnswer::DenyAndStop {
                message: Some("not now".into()),
            },
        };
        let json = serde_json::to_string(&deny).unwrap();
        assert_eq!(
            json,
            r#"{"request":"answer","id":"a0000001-0000-0000-0000-000000000000","request_id":"r1","answer":{"answer":"deny_and_stop","message":"not now"}}"#
        );
        assert_eq!(serde_json::from_str::<Request>(&json).unwrap(), deny);
        let refused = Response::Error {
            code: "still_live".into(),
            message: "no".into(),
        };
        assert_eq!(
            serde_json::to_string(&refused).unwrap(),
            r#"{"response":"error","code":"still_live","message":"no"}"#
        );
        assert_eq!(
            serde_json::to_string(&Hello::current()).unwrap(),
            format!(
                r#"{{"protocol":{PROTOCOL_VERSION},"lulu":"{LULU_VERSION}","pid":{}}}"#,
                std::process::id()
            )
        );
    }

    #[test]
    fn an_interrupt_asks_gracefully_unless_forced_and_answers_with_its_outcome() {
        let id = lulu_domain::testing::session_id(1);
        let old_shape: Request =
            serde_json::from_str(&format!(r#"{{"request":"interrupt","id":"{id}"}}"#)).unwrap();
        assert_eq!(old_shape, Request::Interrupt { id, force: false });
        assert_eq!(
            serde_json::to_string(&Request::Interrupt { id, force: true }).unwrap(),
            format!(r#"{{"request":"interrupt","id":"{id}","force":true}}"#)
        );
        let mut session = lulu_domain::testing::sample_session(1);
        session.status = SessionStatus::Completed;
        let finished = Response::InterruptOutcome(InterruptOutcome::of(session.clone()));
        let json: serde_json::Value = serde_json::to_value(&finished).unwrap();
        assert_eq!(json["response"], "interrupt_outcome");
        assert_eq!(json["outcome"], "finished_first");
        assert_eq!(json["session"]["status"], "completed");
        let back: Response = serde_json::from_value(json).unwrap();
        assert_eq!(back, finished);
        session.status = SessionStatus::Interrupted;
        let interrupted =
            serde_json::to_value(Response::InterruptOutcome(InterruptOutcome::of(session)))
                .unwrap();
        assert_eq!(interrupted["outcome"], "interrupted");
    }
}
