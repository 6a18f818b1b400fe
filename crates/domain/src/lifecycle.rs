//! The lifecycle state machine: one pure function decides every change of a session.
//!
//! [`transition`] takes the current session, an event and the time, and returns the new
//! session with the effects the supervisor must carry out, in order. It never performs
//! them. Illegal (status, event) pairs are errors, never silent no-ops.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::agent::RunExit;
use crate::approval::{
    approval_timeout_message, ApprovalAnswer, ApprovalChange, ApprovalClosing, ApprovalRequest,
};
use crate::ids::RunId;
use crate::input::{OptionOverrides, Prompt};
use crate::interrupt::InterruptMode;
use crate::session::{Run, RunKind, RunOutcome, RunUsage, Session, SessionStatus};

/// Everything that moves a session.
#[derive(Debug, Clone, PartialEq)]
pub enum LifecycleEvent {
    /// A run slot is free: launch the queued run.
    LaunchRequested,
    /// The agent process was spawned.
    Spawned {
        /// Its process id.
        pid: u32,
        /// The patience of an interrupt asked while it was starting (if one was): a
        /// forced one stops the agent forcefully at once, never gracefully first.
        interrupt_mode: InterruptMode,
    },
    /// The agent process could not be spawned.
    LaunchFailed {
        /// Why, in plain words.
        message: String,
    },
    /// The agent reported its conversation (`system/init`).
    AgentEstablished,
    /// The run's process exited and was reaped.
    RunExited {
        /// How it ended.
        exit: RunExit,
        /// Cost and usage from its result line, if it wrote one.
        usage: Option<RunUsage>,
    },
    /// The user asked to stop the session.
    InterruptRequested,
    /// The graceful stop did not take effect in time: stop forcefully (silently).
    StopEscalated,
    /// The interrupt deadline passed and the run is still alive.
    InterruptDeadlinePassed {
        /// How long the interrupt was given.
        after: Duration,
    },
    /// The user asked to continue the conversation with a follow-up prompt.
    ResumeRequested {
        /// The new run's id.
        run_id: RunId,
        /// The follow-up prompt.
        prompt: Prompt,
        /// Options that differ for this run from the session's.
        overrides: OptionOverrides,
    },
    /// The process that owned the session died; recovery stopped whatever was left.
    OwnerLost {
        /// What happened, for `last_error`.
        reason: String,
    },
    /// Transcript lines of the live run could not be stored and were dropped.
    TranscriptLost {
        /// How many lines, since the last time losses were recorded.
        lines: u64,
    },
    /// The agent asks permission for a tool call (`can_use_tool`).
    ApprovalRequested {
        /// The request.
        request: ApprovalRequest,
    },
    /// The user answered a pending permission request.
    ApprovalAnswered {
        /// The request's id.
        request_id: String,
        /// The answer.
        answer: ApprovalAnswer,
    },
    /// Nobody answered a pending request within the approval timeout: Lulu denies it.
    ApprovalDeadlinePassed {
        /// The request's id.
        request_id: String,
        /// The timeout that passed.
        after: Duration,
    },
    /// The agent withdrew a pending request (`control_cancel_request`).
    ApprovalCancelled {
        /// The request's id.
        request_id: String,
    },
    /// The turn's `result` arrived: its cost and usage count at once, whatever is still
    /// pending is cleared, a kept-open run becomes idle. An interrupted turn's result
    /// settles the session: its outcome is known although the agent is still exiting (its
    /// exit is recorded when it comes).
    TurnEnded {
        /// What the turn's `result` line reported.
        usage: RunUsage,
    },
    /// The user closes a kept-open run between turns: its stdin is closed, it ends.
    CloseRequested,
}

impl LifecycleEvent {
    /// A short snake-case name, for tables and traces.
    pub fn name(&self) -> &'static str {
        match self {
            Self::LaunchRequested => "launch_requested",
            Self::Spawned { .. } => "spawned",
            Self::LaunchFailed { .. } => "launch_failed",
            Self::AgentEstablished => "agent_established",
            Self::RunExited { .. } => "run_exited",
            Self::InterruptRequested => "interrupt_requested",
            Self::StopEscalated => "stop_escalated",
            Self::InterruptDeadlinePassed { .. } => "interrupt_deadline_passed",
            Self::ResumeRequested { .. } => "resume_requested",
            Self::OwnerLost { .. } => "owner_lost",
            Self::TranscriptLost { .. } => "transcript_lost",
            Self::ApprovalRequested { .. } => "approval_requested",
            Self::ApprovalAnswered { .. } => "approval_answered",
            Self::ApprovalDeadlinePassed { .. } => "approval_deadline_passed",
            Self::ApprovalCancelled { .. } => "approval_cancelled",
            Self::TurnEnded { .. } => "turn_ended",
            Self::CloseRequested => "close_requested",
        }
    }
}

/// How hard to stop a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StopMode {
    /// Ask the agent to stop (stdin interrupt request, then SIGINT if stdin is gone).
    Graceful,
    /// Kill the agent's process group and every recorded descendant's group.
    Forceful,
}

/// Whether a launch begins a conversation or continues one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationMode {
    /// `--session-id <id>`: the agent has no conversation for this id yet.
    New,
    /// `--resume <id>`: continue the established conversation.
    Resume,
}

/// A change to the run history that must be stored with the session, in one transaction.
#[allow(clippy::large_enum_variant)] // one per transition, never held in bulk
#[derive(Debug, Clone, PartialEq)]
pub enum RunChange {
    /// A new run was requested.
    Created(Run),
    /// The run's process was spawned.
    Spawned {
        /// The run.
        run_id: RunId,
        /// Its process id.
        pid: u32,
    },
    /// The run ended.
    Ended {
        /// The run.
        run_id: RunId,
        /// When.
        ended_at: DateTime<Utc>,
        /// How.
        outcome: RunOutcome,
        /// Exit code, if the process exited.
        exit_code: Option<i32>,
    },
}

/// Something the supervisor must do because of a transition, in the listed order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Store the new session (and run change) in one transaction.
    Persist,
    /// Spawn the agent for the active run.
    Launch {
        /// New conversation or resume.
        mode: ConversationMode,
    },
    /// Ask the live run to stop.
    Stop(StopMode),
    /// Close the live run's stdin: a kept-open run ends after its turn.
    CloseInput,
    /// Send the answer to a permission request to the live run.
    Answer {
        /// The request answered.
        request: ApprovalRequest,
        /// The answer.
        answer: ApprovalAnswer,
    },
    /// Tell subscribers about the new session value (always after `Persist`).
    Announce,
}

/// The outcome of a legal transition: the new value and what to do about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The session after the event.
    pub session: Session,
    /// The run history change to store with it, if any.
    pub run_change: Option<RunChange>,
    /// The permission requests' change to store with it, if any.
    pub approval_change: Option<ApprovalChange>,
    /// Effects to carry out, in order.
    pub effects: Vec<Effect>,
}

/// Why an event cannot apply to a session in its current status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{event} is not possible while the session is {status}")]
pub struct TransitionError {
    /// The session's status.
    pub status: SessionStatus,
    /// The refused event's name.
    pub event: &'static str,
}

/// The message stored when an interrupt gives up.
pub fn interrupt_timeout_message(after: Duration) -> String {
    format!(
        "interrupt timed out after {} s; the agent is still running",
        after.as_secs()
    )
}

/// Decides what `event` does to `session` at `now`.
///
/// One `match` over (status, event) on purpose: the whole table reads in one place, and
/// adding a status or an event fails to compile until every pair is decided.
///
/// # Errors
/// [`TransitionError`] when the event is not legal in the session's status; the session
/// is then unchanged and nothing must be carried out.
#[allow(clippy::too_many_lines, clippy::needless_pass_by_value)]
pub fn transition(
    session: &Session,
    event: LifecycleEvent,
    now: DateTime<Utc>,
) -> Result<Transition, TransitionError> {
    use SessionStatus as S;

    let refuse = |event: &LifecycleEvent| TransitionError {
        status: session.status,
        event: event.name(),
    };
    let mut next = session.clone();
    next.updated_at = now;
    let active_run = session.active_run_id;
    let mut approval_change = None;

    let (run_change, effects) = match (session.status, &event) {
        (S::Queued, LifecycleEvent::LaunchRequested) => {
            next.status = S::Starting;
            let mode = if session.agent_established {
                ConversationMode::Resume
            } else {
                ConversationMode::New
            };
            (
                None,
                vec![Effect::Persist, Effect::Launch { mode }, Effect::Announce],
            )
        }
        (S::Starting, LifecycleEvent::Spawned { pid, .. }) => {
            next.status = S::Running;
            let change = active_run.map(|run_id| RunChange::Spawned { run_id, pid: *pid });
            (change, announced())
        }
        (
            S::Interrupting,
            LifecycleEvent::Spawned {
                pid,
                interrupt_mode,
            },
        ) => {
            // Interrupted while it was starting: stop the agent as soon as it exists, and
            // at once forcefully if the interrupt was forced.
            let change = active_run.map(|run_id| RunChange::Spawned { run_id, pid: *pid });
            let stop = match interrupt_mode {
                InterruptMode::Graceful => StopMode::Graceful,
                InterruptMode::Immediate => StopMode::Forceful,
            };
            let effects = vec![Effect::Persist, Effect::Stop(stop), Effect::Announce];
            (change, effects)
        }
        (S::Starting | S::Interrupting, LifecycleEvent::LaunchFailed { message }) => {
            next.status = S::Failed;
            next.last_error = Some(message.clone());
            let outcome = RunOutcome::Failed {
                kind: crate::session::FailureKind::LaunchFailed,
                message: message.clone(),
            };
            (ended(active_run, now, outcome, None), announced())
        }
        (S::Running | S::NeedsApproval | S::Interrupting, LifecycleEvent::AgentEstablished) => {
            if session.agent_established {
                return Ok(unchanged(session));
            }
            next.agent_established = true;
            (None, announced())
        }
        (S::Idle, LifecycleEvent::AgentEstablished) => {
            // Every turn begins with the agent's `system/init`: a follow-up is being answered.
            next.status = S::Running;
            next.agent_established = true;
            (None, announced())
        }
        (S::Idle, LifecycleEvent::CloseRequested) => {
            // Nothing the user sees changes until the run ends.
            return Ok(Transition {
                effects: vec![Effect::CloseInput],
                ..unchanged(session)
            });
        }
        (
            S::Starting | S::Running | S::NeedsApproval | S::Idle | S::Interrupting,
            LifecycleEvent::RunExited { exit, usage },
        ) => {
            approval_change = clear_pending(&mut next, ApprovalClosing::Cleared);
            let interrupting = session.status == S::Interrupting;
            let outcome = match &exit.outcome {
                RunOutcome::Completed => RunOutcome::Completed,
                RunOutcome::Interrupted => RunOutcome::Interrupted,
                RunOutcome::Failed { .. } if interrupting => RunOutcome::Interrupted,
                failed @ RunOutcome::Failed { .. } => failed.clone(),
            };
            (next.status, next.last_error) = match &outcome {
                RunOutcome::Completed => (S::Completed, None),
                RunOutcome::Interrupted => (S::Interrupted, None),
                RunOutcome::Failed { message, .. } => (S::Failed, Some(message.clone())),
            };
            if let Some(usage) = usage {
                next.totals = session.totals.plus(usage);
            }
            (ended(active_run, now, outcome, exit.exit_code), announced())
        }
        (S::Queued, LifecycleEvent::InterruptRequested) => {
            next.status = S::Interrupted;
            next.last_error = None;
            (
                ended(active_run, now, RunOutcome::Interrupted, None),
                announced(),
            )
        }
        (S::Starting, LifecycleEvent::InterruptRequested) => {
            // No agent to stop yet: it is stopped once spawned (see `Spawned` above).
            next.status = S::Interrupting;
            next.last_error = None;
            (None, announced())
        }
        (S::Running | S::NeedsApproval | S::Idle, LifecycleEvent::InterruptRequested) => {
            // Pending requests stay: the agent cancels them as the interrupt lands.
            next.status = S::Interrupting;
            next.last_error = None;
            let effects = vec![
                Effect::Persist,
                Effect::Stop(StopMode::Graceful),
                Effect::Announce,
            ];
            (None, effects)
        }
        (S::Interrupting, LifecycleEvent::StopEscalated) => {
            // Silent on purpose: nothing the user sees changes, so nothing is stored or announced.
            return Ok(Transition {
                effects: vec![Effect::Stop(StopMode::Forceful)],
                ..unchanged(session)
            });
        }
        (S::Interrupting, LifecycleEvent::InterruptDeadlinePassed { after }) => {
            next.status = if next.pending_approvals.is_empty() {
                S::Running
            } else {
                S::NeedsApproval
            };
            next.last_error = Some(interrupt_timeout_message(*after));
            (None, announced())
        }
        (
            S::Interrupted | S::Completed | S::Failed,
            LifecycleEvent::ResumeRequested {
                run_id,
                prompt,
                overrides,
            },
        ) => {
            next.status = S::Queued;
            next.resume_count = session.resume_count + 1;
            next.active_run_id = Some(*run_id);
            next.last_resume_at = Some(now);
            next.last_error = None;
            // The overrides are the run's: the session keeps its own options.
            let run = Run::requested(
                *run_id,
                session.id,
                RunKind::Resume,
                prompt.clone(),
                overrides.applied_to(&session.options),
                now,
            );
            (Some(RunChange::Created(run)), announced())
        }
        (
            S::Queued | S::Starting | S::Running | S::NeedsApproval | S::Idle | S::Interrupting,
            LifecycleEvent::OwnerLost { reason },
        ) => {
            approval_change = clear_pending(&mut next, ApprovalClosing::Cleared);
            next.status = S::Interrupted;
            next.last_error = Some(reason.clone());
            (
                ended(active_run, now, RunOutcome::Interrupted, None),
                announced(),
            )
        }
        (
            S::Starting
            | S::Running
            | S::NeedsApproval
            | S::Idle
            | S::Interrupting
            | S::Interrupted,
            LifecycleEvent::TranscriptLost { lines },
        ) => {
            // Interrupted: lines of a run settled at its interrupted turn, still exiting.
            next.lost_events = session.lost_events.saturating_add(*lines);
            (None, announced())
        }
        (
            S::Running | S::NeedsApproval | S::Interrupting,
            LifecycleEvent::ApprovalRequested { request },
        ) => {
            if session.status == S::Running {
                next.status = S::NeedsApproval;
            }
            next.pending_approvals.push(request.clone());
            approval_change = Some(ApprovalChange::Requested(request.clone()));
            (None, announced())
        }
        (
            S::NeedsApproval | S::Interrupting,
            LifecycleEvent::ApprovalAnswered { request_id, .. }
            | LifecycleEvent::ApprovalDeadlinePassed { request_id, .. },
        ) => {
            let answer = match &event {
                LifecycleEvent::ApprovalAnswered { answer, .. } => answer.clone(),
                LifecycleEvent::ApprovalDeadlinePassed { after, .. } => ApprovalAnswer::Deny {
                    message: Some(approval_timeout_message(*after)),
                },
                _ => unreachable!("matched above"),
            };
            let Some(request) = take_pending(&mut next, request_id) else {
                return Err(refuse(&event));
            };
            approval_change = Some(ApprovalChange::Closed {
                request_ids: vec![request.request_id.clone()],
                closing: ApprovalClosing::Answered(answer.clone()),
            });
            // The answer goes out once it is stored and announced: whoever reads the
            // session never sees a request pending that the agent already got an answer to.
            let effects = vec![
                Effect::Persist,
                Effect::Announce,
                Effect::Answer { request, answer },
            ];
            (None, effects)
        }
        (
            S::Running | S::NeedsApproval | S::Interrupting,
            LifecycleEvent::ApprovalCancelled { request_id },
        ) => {
            if take_pending(&mut next, request_id).is_none() {
                return Ok(unchanged(session));
            }
            approval_change = Some(ApprovalChange::Closed {
                request_ids: vec![request_id.clone()],
                closing: ApprovalClosing::Cancelled,
            });
            (None, announced())
        }
        (S::Interrupting, LifecycleEvent::TurnEnded { usage }) => {
            // The interrupt took effect: the outcome is known now, while the agent exits
            // (its stdin closed; its exit is recorded by `RunExited` below).
            approval_change = clear_pending(&mut next, ApprovalClosing::Cleared);
            next.status = S::Interrupted;
            next.last_error = None;
            next.totals = session.totals.plus(usage);
            let effects = vec![Effect::Persist, Effect::Announce, Effect::CloseInput];
            (
                ended(active_run, now, RunOutcome::Interrupted, None),
                effects,
            )
        }
        (S::Interrupted, LifecycleEvent::RunExited { exit, usage }) => {
            // The process of a run settled at its interrupted turn's end has exited: its
            // exit code (and the usage of turns that could not be counted as they ended)
            // completes the record.
            let changed = usage.as_ref().map(|usage| session.totals.plus(usage));
            let effects = if let Some(totals) = changed {
                next.totals = totals;
                announced()
            } else {
                next.updated_at = session.updated_at;
                vec![Effect::Persist]
            };
            let outcome = RunOutcome::Interrupted;
            (ended(active_run, now, outcome, exit.exit_code), effects)
        }
        (S::Running | S::NeedsApproval, LifecycleEvent::TurnEnded { usage }) => {
            approval_change = clear_pending(&mut next, ApprovalClosing::Cleared);
            if session.options.keep_open {
                next.status = S::Idle;
            }
            // Counted as each turn ends, so a kept-open run's cost shows while it lives.
            next.totals = session.totals.plus(usage);
            (None, announced())
        }
        (S::Idle, LifecycleEvent::TurnEnded { usage }) => {
            next.totals = session.totals.plus(usage);
            (None, announced())
        }
        (
            S::Queued
            | S::Starting
            | S::Running
            | S::NeedsApproval
            | S::Interrupting
            | S::Interrupted
            | S::Completed
            | S::Failed,
            LifecycleEvent::LaunchRequested
            | LifecycleEvent::Spawned { .. }
            | LifecycleEvent::LaunchFailed { .. }
            | LifecycleEvent::AgentEstablished
            | LifecycleEvent::InterruptRequested
            | LifecycleEvent::StopEscalated
            | LifecycleEvent::InterruptDeadlinePassed { .. }
            | LifecycleEvent::ResumeRequested { .. }
            | LifecycleEvent::OwnerLost { .. }
            | LifecycleEvent::CloseRequested,
        )
        | (
            S::Queued | S::Completed | S::Failed,
            LifecycleEvent::RunExited { .. } | LifecycleEvent::TranscriptLost { .. },
        )
        | (
            S::Queued | S::Starting | S::Interrupted | S::Completed | S::Failed,
            LifecycleEvent::ApprovalRequested { .. }
            | LifecycleEvent::ApprovalCancelled { .. }
            | LifecycleEvent::TurnEnded { .. },
        )
        | (
            S::Queued
            | S::Starting
            | S::Running
            | S::Idle
            | S::Interrupted
            | S::Completed
            | S::Failed,
            LifecycleEvent::ApprovalAnswered { .. } | LifecycleEvent::ApprovalDeadlinePassed { .. },
        )
        | (
            S::Idle,
            LifecycleEvent::LaunchRequested
            | LifecycleEvent::Spawned { .. }
            | LifecycleEvent::LaunchFailed { .. }
            | LifecycleEvent::StopEscalated
            | LifecycleEvent::InterruptDeadlinePassed { .. }
            | LifecycleEvent::ResumeRequested { .. }
            | LifecycleEvent::ApprovalRequested { .. }
            | LifecycleEvent::ApprovalCancelled { .. },
        ) => return Err(refuse(&event)),
    };

    Ok(Transition {
        session: next,
        run_change,
        approval_change,
        effects,
    })
}

/// No change at all: nothing to store, announce or do.
fn unchanged(session: &Session) -> Transition {
    Transition {
        session: session.clone(),
        run_change: None,
        approval_change: None,
        effects: Vec::new(),
    }
}

/// Removes the pending request `request_id`; a session left with none needs no approval.
fn take_pending(next: &mut Session, request_id: &str) -> Option<ApprovalRequest> {
    let index = next
        .pending_approvals
        .iter()
        .position(|request| request.request_id == request_id)?;
    let request = next.pending_approvals.remove(index);
    if next.pending_approvals.is_empty() && next.status == SessionStatus::NeedsApproval {
        next.status = SessionStatus::Running;
    }
    Some(request)
}

/// Closes every pending request (the turn or the run ended); `None` if there was none.
fn clear_pending(next: &mut Session, closing: ApprovalClosing) -> Option<ApprovalChange> {
    if next.pending_approvals.is_empty() {
        return None;
    }
    let request_ids = next
        .pending_approvals
        .drain(..)
        .map(|request| request.request_id)
        .collect();
    if next.status == SessionStatus::NeedsApproval {
        next.status = SessionStatus::Running;
    }
    Some(ApprovalChange::Closed {
        request_ids,
        closing,
    })
}

fn announced() -> Vec<Effect> {
    vec![Effect::Persist, Effect::Announce]
}

fn ended(
    run_id: Option<RunId>,
    now: DateTime<Utc>,
    outcome: RunOutcome,
    exit_code: Option<i32>,
) -> Option<RunChange> {
    run_id.map(|run_id| RunChange::Ended {
        run_id,
        ended_at: now,
        outcome,
        exit_code,
    })
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
