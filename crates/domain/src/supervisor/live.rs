//! What the supervisor holds for a session with a queued or live run.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;
use tracing::warn;

use crate::input::Prompt;
use crate::lifecycle::StopMode;
use crate::ports::{RunControl, StopError};
use crate::session::Session;

/// A session the supervisor owns a run for.
pub(crate) struct LiveSession {
    /// The session's id (never changes).
    pub(crate) id: crate::ids::SessionId,
    /// The prompt of the run this session is launching (the first one, or a follow-up).
    pub(crate) prompt: Prompt,
    /// The current value; locked only to apply one transition (never across a wait).
    pub(crate) state: tokio::sync::Mutex<Session>,
    control: Mutex<Option<Arc<dyn RunControl>>>,
    settled: watch::Sender<Option<Session>>,
}

impl LiveSession {
    pub(crate) fn new(session: Session, prompt: Prompt) -> Self {
        Self {
            id: session.id,
            prompt,
            state: tokio::sync::Mutex::new(session),
            control: Mutex::new(None),
            settled: watch::Sender::new(None),
        }
    }

    /// Records how to stop the spawned run.
    pub(crate) fn attach(&self, control: Arc<dyn RunControl>) {
        *self.control.lock().unwrap_or_else(PoisonError::into_inner) = Some(control);
    }

    /// Delivers a stop request; a run that already exited is not an error.
    pub(crate) async fn stop(&self, mode: StopMode) {
        let control = self
            .control
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(control) = control else {
            warn!(?mode, "no run to stop");
            return;
        };
        match control.stop(mode).await {
            Ok(()) | Err(StopError::AlreadyExited) => {}
            Err(error) => warn!(?mode, %error, "stop request failed"),
        }
    }

    /// Publishes the final value to everyone waiting in [`settled`](Self::settled).
    pub(crate) fn settle(&self, session: Session) {
        self.settled.send_replace(Some(session));
    }

    /// Waits until the session has settled (its run ended, or it never started).
    pub(crate) async fn settled(&self) -> Session {
        let mut receiver = self.settled.subscribe();
        let settled = receiver
            .wait_for(Option::is_some)
            .await
            .expect("the sender lives as long as self");
        settled.clone().expect("waited for Some")
    }
}
