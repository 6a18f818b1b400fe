//! The supervisor's background work: launching queued runs and following live ones.

use std::sync::Arc;

use tokio::sync::mpsc;
use tracing::{error, info, warn, Instrument};

use super::retry::Retries;
use super::{LiveSession, Pending, SessionSupervisor, SupervisorError};
use crate::agent::{RunExit, RunUpdate, TranscriptEntry};
use crate::ids::RunId;
use crate::input::{AgentOptions, Prompt};
use crate::lifecycle::{transition, LifecycleEvent, StopMode};
use crate::ports::{RunHandle, RunSlot, RunSpec, SessionUpdate};
use crate::session::{FailureKind, RunOutcome, RunUsage, Session, SessionStatus};

/// Most entries stored in one transaction.
const MAX_BATCH: usize = 512;
/// How often a batch of transcript lines is tried against a failing store before it is
/// dropped (and counted as lost); also how often a run's end is tried before subscribers
/// are told it could not be stored (it is then retried until it is).
const SETTLE_ATTEMPTS: u32 = 5;

impl SessionSupervisor {
    /// Registers `session` as live and launches its active run once a slot is free.
    /// `options` are the run's (a resume's overrides applied).
    pub(super) fn launch_when_ready(
        &self,
        session: &Session,
        prompt: Prompt,
        options: AgentOptions,
    ) {
        let live = Arc::new(LiveSession::new(session.clone(), prompt, options));
        self.live_map().insert(session.id, Arc::clone(&live));
        let supervisor = self.clone();
        let span =
            tracing::info_span!("run", session_id = %session.id, run_id = ?session.active_run_id);
        tokio::spawn(async move { supervisor.launch(live).await }.instrument(span));
    }

    /// Launches the session's run once a slot is free. Neither the operation gate nor the
    /// state lock is held while the agent starts, so an interrupt can land meanwhile (the
    /// agent is then stopped as soon as it is spawned).
    async fn launch(self, live: Arc<LiveSession>) {
        let Some(slot) = self.wait_for_slot(&live).await else {
            return;
        };
        let Some(spec) = self.mark_starting(&live).await else {
            return;
        };
        let run_id = spec.run_id;
        let launched = self.inner.ports.launcher.launch(spec).await;
        let mut state = live.state.lock().await;
        match launched {
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
                match self
                    .apply(
                        &mut state,
                        LifecycleEvent::Spawned {
                            pid,
                            interrupt_mode: live.interrupt_mode(),
                        },
                    )
                    .await
                {
                    Ok(pending) => {
                        info!(pid, "agent running");
                        drop(state);
                        self.carry_out(&live, pending).await;
                    }
                    Err(error) => {
                        error!(%error, pid, "could not record the spawned agent; stopping it");
                        drop(state);
                        live.stop(StopMode::Forceful).await;
                    }
                }
                let pump = self.clone().follow(live, run_id, updates, slot);
                tokio::spawn(pump.in_current_span());
            }
        }
    }

    /// Moves a queued session to `starting` and returns what to launch; `None` if it was
    /// interrupted while it waited, or could not be stored (it then stays queued).
    async fn mark_starting(&self, live: &LiveSession) -> Option<RunSpec> {
        let id = live.id;
        let _pass = self.inner.gate.enter(id).await;
        let mut state = live.state.lock().await;
        if state.status != SessionStatus::Queued {
            // Interrupted while it waited for a slot: it has settled already.
            return None;
        }
        let pending = match self
            .apply(&mut state, LifecycleEvent::LaunchRequested)
            .await
        {
            Ok(pending) => pending,
            Err(error) => {
                error!(%error, "could not mark the session starting; it stays queued");
                self.live_map().remove(&id);
                return None;
            }
        };
        let run_id = state
            .active_run_id
            .expect("a queued session always has its requested run");
        let cwd = state.cwd.clone();
        drop(state);
        let mode = self
            .carry_out(live, pending)
            .await
            .expect("launch_requested always asks for a launch");
        Some(RunSpec {
            session_id: id,
            run_id,
            cwd,
            prompt: live.prompt.clone(),
            options: live.options.clone(),
            mode,
        })
    }

    /// Waits for a run slot; `None` if the session settled meanwhile (interrupted while queued).
    async fn wait_for_slot(&self, live: &LiveSession) -> Option<RunSlot> {
        let mut retries = Retries::new(self.inner.ports.clock.as_ref(), "take a run slot");
        loop {
            tokio::select! {
                acquired = self.inner.ports.slots.acquire(live.id) => match acquired {
                    Ok(slot) => return Some(slot),
                    Err(error) => {
                        retries.failed(&error);
                    }
                },
                _ = live.settled() => return None,
            }
            retries.pause().await;
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
            let mut lifecycle = Vec::new();
            let mut exit = None;
            // Streamed text after the batch's last line, announced once the batch is
            // stored so followers see everything in order. Text streamed before a line
            // of the same batch is dropped: that line is the complete block it was part of.
            let mut streamed = String::new();
            let mut next = Some(first);
            while let Some(update) = next.take() {
                match update {
                    RunUpdate::Exited(run_exit) => exit = Some(run_exit),
                    RunUpdate::TextDelta(text) => {
                        streamed.push_str(&text);
                        if batch.len() < MAX_BATCH {
                            next = updates.try_recv().ok();
                        }
                    }
                    RunUpdate::Event(event) => {
                        streamed.clear();
                        lifecycle.extend(self.lifecycle_event_of(&event));
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
            // In the order the agent said them (a turn's end, then the next turn's init),
            // and even when the lines were lost: the conversation exists, a request waits.
            // Each turn's usage counts as the turn ends; what could not be counted then
            // counts with the run's end.
            if let Some(uncounted) = self.apply_run_events(&live, lifecycle).await {
                usage = Some(
                    usage.map_or_else(|| uncounted.clone(), |earlier| earlier.and(&uncounted)),
                );
            }
            if !streamed.is_empty() {
                self.inner.ports.updates.publish(SessionUpdate::TextDelta {
                    session_id: live.id,
                    run_id,
                    text: streamed,
                });
            }
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
        let ports = &self.inner.ports;
        let mut retries = Retries::new(ports.clock.as_ref(), "store transcript lines");
        while let Err(error) = ports.store.append_events(&batch).await {
            if retries.failed(&error) == SETTLE_ATTEMPTS {
                // Never announce what was not stored; count it, so the loss is on record.
                let lines = batch.len() as u64;
                error!(%error, lines, "could not store transcript lines; they are lost");
                live.add_losses(lines);
                ports.updates.publish(SessionUpdate::LinesLost {
                    session_id: live.id,
                    lines,
                    reason: error.to_string(),
                });
                let mut state = live.state.lock().await;
                if let Err(error) = self.record_losses(live, &mut state).await {
                    warn!(%error, "could not record the lost lines yet; will retry");
                }
                return;
            }
            retries.pause().await;
        }
        ports.updates.publish(SessionUpdate::Transcript {
            session_id: live.id,
            entries: batch,
        });
        if live.unrecorded_losses() > 0 {
            let mut state = live.state.lock().await;
            if let Err(error) = self.record_losses(live, &mut state).await {
                warn!(%error, "could not record the lost lines yet; will retry");
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
            .await?
            .nothing_left();
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
        let mut retries = Retries::new(self.inner.ports.clock.as_ref(), "store the run's end");
        loop {
            let mut state = live.state.lock().await;
            let stored = match self.record_losses(live, &mut state).await {
                Ok(()) => self
                    .apply(&mut state, event.clone())
                    .await
                    .map(Pending::nothing_left),
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
                    if retries.failed(&error) == SETTLE_ATTEMPTS {
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
            retries.pause().await;
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

fn crashed(message: &str) -> RunExit {
    RunExit {
        outcome: RunOutcome::Failed {
            kind: FailureKind::Crashed,
            message: message.to_owned(),
        },
        exit_code: None,
    }
}
