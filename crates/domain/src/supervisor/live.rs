//! What the supervisor holds for a session with a queued or live run.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;
use tokio::time::Instant;
use tracing::warn;

use crate::approval::{ApprovalAnswer, ApprovalRequest};
use crate::input::{AgentOptions, Prompt};
use crate::lifecycle::StopMode;
use crate::ports::{Clock, RunControl, StopError};
use crate::session::{Session, SessionStatus};

/// A session the supervisor owns a run for.
pub(crate) struct LiveSession {
    /// The session's id (never changes).
    pub(crate) id: crate::ids::SessionId,
    /// The prompt of the run this session is launching (the first one, or a follow-up).
    pub(crate) prompt: Prompt,
    /// The options that run is launched with (the session's, with a resume's overrides).
    pub(crate) options: AgentOptions,
    /// The current value; locked only to apply one transition (never across a wait).
    pub(crate) state: tokio::sync::Mutex<Session>,
    control: Mutex<Option<Arc<dyn RunControl>>>,
    settled: watch::Sender<Option<Session>>,
    /// Set once the run's process has exited (its end may not be stored yet).
    exited: AtomicBool,
    /// Set while the run's end could not be stored: the status it ends in and why not.
    end_not_stored: Mutex<Option<(SessionStatus, String)>>,
    /// Transcript lines dropped because the store refused them, not yet recorded.
    unrecorded_losses: AtomicU64,
    /// Set when an immediate interrupt asks the interrupt under way to skip its grace.
    hurried: watch::Sender<bool>,
    /// Set once the supervisor forgot the session: its run's process was reaped and its
    /// end stored (a session settles earlier, at an interrupted turn's end).
    gone: watch::Sender<bool>,
}

impl LiveSession {
    pub(crate) fn new(session: Session, prompt: Prompt, options: AgentOptions) -> Self {
        Self {
            id: session.id,
            prompt,
            options,
            state: tokio::sync::Mutex::new(session),
            control: Mutex::new(None),
            settled: watch::Sender::new(None),
            exited: AtomicBool::new(false),
            end_not_stored: Mutex::new(None),
            unrecorded_losses: AtomicU64::new(0),
            hurried: watch::Sender::new(false),
            gone: watch::Sender::new(false),
        }
    }

    /// Records how to stop the spawned run.
    pub(crate) fn attach(&self, control: Arc<dyn RunControl>) {
        *self.control.lock().unwrap_or_else(PoisonError::into_inner) = Some(control);
    }

    fn control(&self) -> Option<Arc<dyn RunControl>> {
        self.control
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Delivers a stop request; a run that already exited is not an error.
    pub(crate) async fn stop(&self, mode: StopMode) {
        let Some(control) = self.control() else {
            warn!(?mode, "no run to stop");
            return;
        };
        match control.stop(mode).await {
            Ok(()) | Err(StopError::AlreadyExited) => {}
            Err(error) => warn!(?mode, %error, "stop request failed"),
        }
    }

    /// Delivers a permission answer; a run that already exited is not an error.
    pub(crate) async fn answer(&self, request: &ApprovalRequest, answer: &ApprovalAnswer) {
        let Some(control) = self.control() else {
            warn!(request_id = request.request_id, "no run to answer");
            return;
        };
        match control.answer(request, answer).await {
            Ok(()) | Err(StopError::AlreadyExited) => {}
            Err(error) => warn!(%error, request_id = request.request_id, "answer not delivered"),
        }
    }

    /// Closes the run's stdin; a run that already exited is not an error.
    pub(crate) async fn close_input(&self) {
        let Some(control) = self.control() else {
            warn!("no run to close");
            return;
        };
        match control.close_input().await {
            Ok(()) | Err(StopError::AlreadyExited) => {}
            Err(error) => warn!(%error, "closing the run's stdin failed"),
        }
    }

    /// Writes a follow-up on the run's stdin.
    pub(crate) async fn send(&self, text: &str) -> Result<(), StopError> {
        let control = self.control().ok_or(StopError::AlreadyExited)?;
        control.send(text).await
    }

    /// Notes that the run's process has exited.
    pub(crate) fn mark_exited(&self) {
        self.exited.store(true, Ordering::SeqCst);
    }

    /// Whether the run's process has exited.
    pub(crate) fn has_exited(&self) -> bool {
        self.exited.load(Ordering::SeqCst)
    }

    /// Notes that the run's end (ending in `status`) could not be stored, and why.
    pub(crate) fn mark_end_not_stored(&self, status: SessionStatus, reason: String) {
        *self
            .end_not_stored
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((status, reason));
    }

    /// The status the run ends in and why it is not stored yet, while that is so.
    pub(crate) fn end_not_stored(&self) -> Option<(SessionStatus, String)> {
        self.end_not_stored
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Counts `lines` transcript lines the store refused.
    pub(crate) fn add_losses(&self, lines: u64) {
        self.unrecorded_losses.fetch_add(lines, Ordering::SeqCst);
    }

    /// Lost lines not yet recorded on the session.
    pub(crate) fn unrecorded_losses(&self) -> u64 {
        self.unrecorded_losses.load(Ordering::SeqCst)
    }

    /// Notes that `lines` lost lines are now recorded on the session.
    pub(crate) fn losses_recorded(&self, lines: u64) {
        self.unrecorded_losses.fetch_sub(lines, Ordering::SeqCst);
    }

    /// Asks the interrupt under way to skip the rest of its grace period.
    pub(crate) fn hurry(&self) {
        self.hurried.send_replace(true);
    }

    /// Whether the interrupt under way was asked to skip its grace period.
    pub(crate) fn is_hurried(&self) -> bool {
        *self.hurried.borrow()
    }

    /// The patience of the interrupt in force: immediate once it was forced or hurried.
    pub(crate) fn interrupt_mode(&self) -> crate::interrupt::InterruptMode {
        if self.is_hurried() {
            crate::interrupt::InterruptMode::Immediate
        } else {
            crate::interrupt::InterruptMode::Graceful
        }
    }

    /// Forgets a request to hurry (the interrupt it was for has ended).
    pub(crate) fn unhurry(&self) {
        self.hurried.send_replace(false);
    }

    /// Waits until the interrupt under way is asked to hurry.
    pub(crate) async fn hurried(&self) {
        let mut receiver = self.hurried.subscribe();
        let _ = receiver.wait_for(|hurried| *hurried).await;
    }

    /// Publishes the final value to everyone waiting in [`settled`](Self::settled).
    pub(crate) fn settle(&self, session: Session) {
        self.settled.send_replace(Some(session));
    }

    /// Whether the session has settled (its run may still be exiting).
    pub(crate) fn is_settled(&self) -> bool {
        self.settled.borrow().is_some()
    }

    /// Notes that the supervisor forgot the session: nothing of its run is left.
    pub(crate) fn mark_gone(&self) {
        self.gone.send_replace(true);
    }

    /// Waits until the supervisor forgot the session (its run's process reaped, its end stored).
    pub(crate) async fn gone(&self) {
        let mut receiver = self.gone.subscribe();
        let _ = receiver.wait_for(|gone| *gone).await;
    }

    /// Waits for `deadline` on `clock`: `true` when it came with the run still going,
    /// `false` as soon as the session settled first (a timer of the run's that is moot).
    pub(crate) async fn outlives(&self, clock: &dyn Clock, deadline: Instant) -> bool {
        tokio::select! {
            () = clock.sleep_until(deadline) => true,
            _ = self.settled() => false,
        }
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
