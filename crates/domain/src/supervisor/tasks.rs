//! The supervisor's background work: launching queued runs and following live ones.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{error, info, warn, Instrument};

use super::{LiveSession, SessionSupervisor, SupervisorError};
use crate::agent::{AgentEvent, RunExit, RunUpdate, TranscriptEntry};
use crate::ids::RunId;
use crate::input::Prompt;
use crate::lifecycle::{transition, ConversationMode, Effect, LifecycleEvent, StopMode};
use crate::ports::{RunHandle, RunSlot, RunSpec, SessionUpdate};
use crate::session::{FailureKind, RunOutcome, RunUsage, Session, SessionStatus};

/// Most entries stored in one transaction.
const MAX_BATCH: usize = 512;
/// How often a batch of transcript lines is tried against a failing store before it is
/// dropped (and counted as lost); also how often a run's end is tried before subscribers
/// are told it could not be stored (it is then retried until it is).
const SETTLE_ATTEMPTS: u32 = 5;
/// The longest wait between two attempts to store a run's end.
const MAX_BACK_OFF: Duration = Duration::from_secs(5);

impl SessionSupervisor {
    /// Registers `session` as live and launches its active run once a slot is free.
    pub(super) fn launch_when_ready(&self, session: &Session, prompt: Prompt) {
        let live = Arc::new(LiveSession::new(session.clone(), prompt));
        self.live_map().insert(session.id, Arc::clone(&live));
        let supervisor = self.clone();
        let span =
            tracing::info_span!("run", session_id = %session.id, run_id = ?session.active_run_id);
        tokio::spawn(async move { supervisor.launch(live).await }.instrument(span));
    }

    async fn launch(self, live: Arc<LiveSession>) {
        let Some(slot) = self.wait_for_slot(&live).await else {
            return;
        };
        let id = live.id;
        let _pass = self.inner.gate.enter(id).await;
        let mut state = live.state.lock().await;
        if state.status != SessionStatus::Queued {
            // Interrupted while it waited for a slot: it has settled already.
            return;
        }
        let mode = match self
            .apply(&mut state, LifecycleEvent::LaunchRequested)
            .await
        {
            Ok(actions) => launch_mode(&actions),
            Err(error) => {
                error!(%error, "could not mark the session starting; it stays queued");
                self.live_map().remove(&id);
                return;
            }
        };
        let run_id = state
            .active_run_id
            .expect("a queued session always has its requested run");
        let prompt = live.prompt.clone();
        let spec = RunSpec {
            session_id: id,
            run_id,
            cwd: state.cwd.clone(),
            prompt,
            options: state.options.clone(),
            mode,
        };
        match self.inner.ports.launcher.launch(spec).await {
            Err(launch_error) => {
                info!(%launch_error, "agent could not be launched");
                let event = LifecycleEvent::LaunchFailed {
                    message: launch_error.to_string(),
                };
                drop(state);
                self.settle_with(&live, event).await;
            }
            Ok(handle) => {
                let RunHandle {
                    pid,
                    updates,
                    control,
                } = handle;
                live.attach(control);
                if let Err(error) = self
                    .apply(&mut state, LifecycleEvent::Spawned { pid })
                    .await
                {
                    error!(%error, pid, "could not record the spawned agent; stopping it");
                    drop(state);
                    live.stop(StopMode::Forceful).await;
                } else {
                    info!(pid, "agent running");
                    drop(state);
                }
                let pump = self.clone().follow(live, run_id, updates, slot);
                tokio::spawn(pump.in_current_span());
            }
        }
    }

    /// Waits for a run slot; `None` if the session settled meanwhile (interrupted while queued).
    async fn wait_for_slot(&self, live: &LiveSession) -> Option<RunSlot> {
        let mut attempt = 1;
        loop {
            tokio::select! {
                acquired = self.inner.ports.slots.acquire(live.id) => match acquired {
                    Ok(slot) => return Some(slot),
                    Err(error) => warn!(%error, attempt, "no run slot yet; retrying"),
                },
                _ = live.settled() => return None,
            }
            self.back_off(attempt.min(SETTLE_ATTEMPTS)).await;
            attempt += 1;
        }
    }

    /// Follows a live run: stores its events in batches, announces them, and applies its exit.
    async fn follow(
        self,
        live: Arc<LiveSession>,
        run_id: RunId,
        mut updates: mpsc::Receiver<RunUpdate>,
        _slot: RunSlot,
    ) {
        let mut seq = 0_u64;
        let mut usage: Option<RunUsage> = None;
        let exit = loop {
            let Some(first) = updates.recv().await else {
                break crashed("the agent's output ended without an exit status");
            };
            let mut batch = Vec::new();
            let mut exit = None;
            let mut next = Some(first);
            while let Some(update) = next.take() {
                match update {
                    RunUpdate::Exited(run_exit) => exit = Some(run_exit),
                    RunUpdate::Event(event) => {
                        if let AgentEvent::Result {
                            usage: reported, ..
                        } = &event
                        {
                            usage = Some(reported.clone());
                        }
                        batch.push(TranscriptEntry {
                            run_id,
                            seq,
                            at: self.inner.ports.clock.now(),
                            event,
                        });
                        seq += 1;
                        if batch.len() < MAX_BATCH {
                            next = updates.try_recv().ok();
                        }
                    }
                }
            }
            self.store_batch(&live, batch).await;
            if let Some(exit) = exit {
                break exit;
            }
        };
        live.mark_exited();
        let event = LifecycleEvent::RunExited { exit, usage };
        self.settle_with(&live, event).await;
    }

    async fn store_batch(&self, live: &LiveSession, batch: Vec<TranscriptEntry>) {
        if batch.is_empty() {
            return;
        }
        let establishes = batch
            .iter()
            .any(|entry| matches!(entry.event, AgentEvent::Init { .. }));
        let ports = &self.inner.ports;
        let mut attempt = 1;
        while let Err(error) = ports.store.append_events(&batch).await {
            if attempt == SETTLE_ATTEMPTS {
                // Never announce what was not stored; count it, so the loss is on record.
                error!(%error, lines = batch.len(), "could not store transcript lines; they are lost");
                live.add_losses(batch.len() as u64);
                let mut state = live.state.lock().await;
                if let Err(error) = self.record_losses(live, &mut state).await {
                    warn!(%error, "could not record the lost lines yet; will retry");
                }
                return;
            }
            retrying(
                attempt,
                &error,
                "could not store transcript lines; retrying",
            );
            self.back_off(attempt).await;
            attempt += 1;
        }
        ports.updates.publish(SessionUpdate::Transcript {
            session_id: live.id,
            entries: batch,
        });
        let pending_losses = live.unrecorded_losses() > 0;
        if establishes || pending_losses {
            let mut state = live.state.lock().await;
            if pending_losses {
                if let Err(error) = self.record_losses(live, &mut state).await {
                    warn!(%error, "could not record the lost lines yet; will retry");
                }
            }
            if establishes {
                if let Err(error) = self
                    .apply(&mut state, LifecycleEvent::AgentEstablished)
                    .await
                {
                    error!(%error, "could not record that the conversation is established");
                }
            }
        }
    }

    /// Records on the session the transcript lines that were lost and not recorded yet.
    async fn record_losses(
        &self,
        live: &LiveSession,
        state: &mut Session,
    ) -> Result<(), SupervisorError> {
        let lines = live.unrecorded_losses();
        if lines == 0 {
            return Ok(());
        }
        self.apply(state, LifecycleEvent::TranscriptLost { lines })
            .await?;
        live.losses_recorded(lines);
        Ok(())
    }

    /// Applies a terminal event (with any unrecorded losses first), then settles.
    ///
    /// A store that keeps failing (a full disk) never leaves the session live with no
    /// agent: after a few attempts subscribers are told the end could not be stored, and
    /// the attempts go on, with growing pauses, until one succeeds. The state lock is not
    /// held between attempts, so an interrupt meanwhile learns the truth from `live`.
    async fn settle_with(&self, live: &LiveSession, event: LifecycleEvent) {
        let mut attempt = 1_u32;
        loop {
            let mut state = live.state.lock().await;
            let stored = match self.record_losses(live, &mut state).await {
                Ok(()) => self.apply(&mut state, event.clone()).await.map(drop),
                Err(error) => Err(error),
            };
            match stored {
                Ok(()) => {
                    info!(status = %state.status, "run settled");
                    self.settle(live, &state);
                    return;
                }
                Err(SupervisorError::Store(error)) => {
                    drop(state);
                    retrying(attempt, &error, "could not store the run's end; retrying");
                    if attempt == SETTLE_ATTEMPTS {
                        self.announce_end_not_stored(live, &event, &error.to_string())
                            .await;
                    }
                }
                Err(error) => {
                    error!(%error, "the run's end does not apply; settling as it is");
                    self.settle(live, &state);
                    return;
                }
            }
            self.back_off(attempt).await;
            attempt = attempt.saturating_add(1);
        }
    }

    /// Tells subscribers (and later interrupts) that the run's end is not stored yet.
    async fn announce_end_not_stored(
        &self,
        live: &LiveSession,
        event: &LifecycleEvent,
        reason: &str,
    ) {
        let state = live.state.lock().await.clone();
        let status = transition(&state, event.clone(), self.inner.ports.clock.now())
            .map_or(state.status, |next| next.session.status);
        warn!(%status, reason, "the run has ended but its end cannot be stored; retrying until it can");
        live.mark_end_not_stored(status, reason.to_owned());
        self.inner
            .ports
            .updates
            .publish(SessionUpdate::EndNotStored {
                session_id: live.id,
                status,
                reason: reason.to_owned(),
            });
    }
}

impl SessionSupervisor {
    /// Waits a little longer after each failed attempt against the store (at most
    /// [`MAX_BACK_OFF`]).
    async fn back_off(&self, attempt: u32) {
        let clock = &self.inner.ports.clock;
        let pause = (Duration::from_millis(200) * attempt).min(MAX_BACK_OFF);
        clock.sleep_until(clock.monotonic() + pause).await;
    }
}

/// Logs a failed store attempt: the first as a warning, the repeats only as diagnostics.
fn retrying(attempt: u32, error: &impl std::fmt::Display, message: &str) {
    if attempt == 1 {
        warn!(%error, attempt, "{message}");
    } else {
        tracing::debug!(%error, attempt, "{message}");
    }
}

fn launch_mode(actions: &[Effect]) -> ConversationMode {
    actions
        .iter()
        .find_map(|effect| match effect {
            Effect::Launch { mode } => Some(*mode),
            Effect::Persist | Effect::Stop(_) | Effect::Announce => None,
        })
        .expect("launch_requested always asks for a launch")
}

fn crashed(message: &str) -> RunExit {
    RunExit {
        outcome: RunOutcome::Failed {
            kind: FailureKind::Crashed,
            message: message.to_owned(),
        },
        exit_code: None,
    }
}
