//! Permission requests of live runs: recording them, answering them, and Lulu's own deadline.

use std::sync::Arc;
use std::time::Duration;

use tracing::{error, info, warn, Instrument};

use super::{LiveSession, SessionSupervisor, SupervisorError, Whereabouts};
use crate::agent::AgentEvent;
use crate::approval::{ApprovalAnswer, ApprovalRequest};
use crate::ids::SessionId;
use crate::lifecycle::LifecycleEvent;
use crate::session::{RunUsage, Session};

impl SessionSupervisor {
    /// Answers a pending permission request of a session this supervisor runs: the named
    /// one, or the oldest when `request_id` is `None`. The answer is stored (and announced)
    /// before it reaches the agent; of two answers to one request exactly one wins.
    ///
    /// Returns the session as stored after the answer.
    ///
    /// # Errors
    /// `NoPendingApproval` (already answered, cancelled, or the turn ended), `NotOwnedHere`,
    /// `NotFound`, `Store`.
    #[tracing::instrument(skip(self, answer), fields(session_id = %id, answer = answer.label()))]
    pub async fn answer(
        &self,
        id: SessionId,
        request_id: Option<String>,
        answer: ApprovalAnswer,
    ) -> Result<Session, SupervisorError> {
        let not_pending =
            |request_id: Option<String>| SupervisorError::NoPendingApproval { id, request_id };
        let Some(live) = self.live(id) else {
            return Err(match self.whereabouts(id).await? {
                Whereabouts::LiveElsewhere(status) => SupervisorError::NotOwnedHere { id, status },
                Whereabouts::Settled(_) | Whereabouts::LiveHere(_) => not_pending(request_id),
            });
        };
        // The state lock, not the operation gate: an answer must get through while an
        // interrupt of the same session waits for the run to end.
        let mut state = live.state.lock().await;
        let chosen = match &request_id {
            Some(wanted) => state
                .pending_approvals
                .iter()
                .find(|request| &request.request_id == wanted),
            None => state.pending_approvals.first(),
        };
        let Some(chosen) = chosen.map(|request| request.request_id.clone()) else {
            return Err(not_pending(request_id));
        };
        let pending = self
            .apply(
                &mut state,
                LifecycleEvent::ApprovalAnswered {
                    request_id: chosen.clone(),
                    answer,
                },
            )
            .await?;
        let session = state.clone();
        drop(state);
        self.carry_out(&live, pending).await;
        info!(request_id = chosen, "permission request answered");
        Ok(session)
    }

    /// The lifecycle event an agent event means for the session, if any (run events are
    /// applied by [`apply_run_events`](Self::apply_run_events), in order).
    pub(super) fn lifecycle_event_of(&self, event: &AgentEvent) -> Option<LifecycleEvent> {
        match event {
            AgentEvent::PermissionRequest {
                request_id,
                tool_name,
                input_json,
                description,
                blocked_path,
                suggestions_json,
            } => Some(LifecycleEvent::ApprovalRequested {
                request: ApprovalRequest {
                    request_id: request_id.clone(),
                    tool_name: tool_name.clone(),
                    input_json: input_json.clone(),
                    description: description.clone(),
                    blocked_path: blocked_path.clone(),
                    suggestions_json: suggestions_json.clone(),
                    requested_at: self.inner.ports.clock.now(),
                },
            }),
            AgentEvent::PermissionCancelled { request_id } => {
                Some(LifecycleEvent::ApprovalCancelled {
                    request_id: request_id.clone(),
                })
            }
            AgentEvent::Result { usage, .. } => Some(LifecycleEvent::TurnEnded {
                usage: usage.clone(),
            }),
            // Every turn begins with it: the conversation exists, an idle run runs again.
            AgentEvent::Init { .. } => Some(LifecycleEvent::AgentEstablished),
            _ => None,
        }
    }

    /// Applies what the run's agent said that moves the session (its conversation began,
    /// a permission request came or went, a turn ended), in order; starts Lulu's deadline
    /// for each new request and the idle timeout of a kept-open run between turns.
    ///
    /// Settles the session when an interrupted turn ended: whoever waits for its outcome
    /// learns it then, while the agent exits.
    ///
    /// Returns the usage of the turns that ended without it being counted on the session
    /// (their end could not be stored), for the run's end to count.
    pub(super) async fn apply_run_events(
        &self,
        live: &Arc<LiveSession>,
        events: Vec<LifecycleEvent>,
    ) -> Option<RunUsage> {
        let mut uncounted: Option<RunUsage> = None;
        let mut settled = false;
        for event in events {
            let turn_usage = match &event {
                LifecycleEvent::TurnEnded { usage } => Some(usage.clone()),
                _ => None,
            };
            let deadline = match (&event, self.inner.config.approval_timeout) {
                (LifecycleEvent::ApprovalRequested { request }, Some(after)) => {
                    Some((request.request_id.clone(), after))
                }
                _ => None,
            };
            let mut state = live.state.lock().await;
            let name = event.name();
            match self.apply(&mut state, event).await {
                Ok(pending) => {
                    let idle_since = (state.status == crate::session::SessionStatus::Idle)
                        .then_some(state.updated_at);
                    if !settled && !state.status.is_live() {
                        settled = true;
                        live.settle(state.clone());
                    }
                    drop(state);
                    if let (Some(since), Some(after)) = (idle_since, self.inner.config.idle_timeout)
                    {
                        self.close_when_idle(live, since, after);
                    }
                    self.carry_out(live, pending).await;
                    if let Some((request_id, after)) = deadline {
                        self.deny_when_unanswered(live, request_id, after);
                    }
                }
                Err(error) => {
                    match error {
                        SupervisorError::Transition(refused) => {
                            warn!(%refused, "what the agent said does not apply");
                        }
                        error => {
                            error!(%error, event = name, "could not record what the agent said");
                        }
                    }
                    if let Some(usage) = turn_usage {
                        uncounted =
                            Some(uncounted.map_or(usage.clone(), |earlier| earlier.and(&usage)));
                    }
                }
            }
        }
        uncounted
    }

    /// Denies the request once `after` has passed, if it is still pending then.
    fn deny_when_unanswered(&self, live: &Arc<LiveSession>, request_id: String, after: Duration) {
        let supervisor = self.clone();
        let live = Arc::clone(live);
        let clock = Arc::clone(&self.inner.ports.clock);
        let deadline = clock.monotonic() + after;
        let task = async move {
            if !live.outlives(clock.as_ref(), deadline).await {
                return;
            }
            let mut state = live.state.lock().await;
            let still_pending = state
                .pending_approvals
                .iter()
                .any(|request| request.request_id == request_id);
            if !still_pending {
                return;
            }
            let event = LifecycleEvent::ApprovalDeadlinePassed {
                request_id: request_id.clone(),
                after,
            };
            match supervisor.apply(&mut state, event).await {
                Ok(pending) => {
                    drop(state);
                    supervisor.carry_out(&live, pending).await;
                    info!(request_id, ?after, "nobody answered in time: denied");
                }
                Err(error) => error!(%error, request_id, "could not deny an unanswered request"),
            }
        };
        tokio::spawn(task.in_current_span());
    }
}
