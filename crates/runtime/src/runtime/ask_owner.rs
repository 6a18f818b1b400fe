//! Asking another owner through the mailbox, and waiting for its answer.

use std::time::Duration;

use tracing::{info, warn};

use lulu_domain::ports::{ControlAction, ControlAnswer};
use lulu_domain::{Session, SessionId, SessionStatus, SupervisorError};

use super::Runtime;
use crate::error::RuntimeError;
use crate::owner::FrozenOwner;

/// How long an owner may stay stopped before a requester stops waiting for its answer.
const STOPPED_OWNER_GRACE: Duration = Duration::from_secs(1);

impl Runtime {
    /// Does an operation on a live session: here when this process owns its run, else by
    /// asking its owner through the mailbox (a process that shares the database but is
    /// not reachable otherwise). A session whose owner died is recovered first, so the
    /// refusal then says what it is now.
    pub(super) async fn here_or_by_owner<F, Fut>(
        &self,
        id: SessionId,
        action: ControlAction,
        here: F,
    ) -> Result<Session, RuntimeError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Session, SupervisorError>>,
    {
        if let Some(lost) = self.database_lost() {
            return Err(lost);
        }
        match here().await {
            Err(SupervisorError::NotOwnedHere { .. }) => {}
            done => return Ok(done?),
        }
        self.recover().await?;
        match here().await {
            Err(SupervisorError::NotOwnedHere { .. }) => self.ask_owner(id, action).await,
            done => Ok(done?),
        }
    }

    pub(super) async fn ask_owner(
        &self,
        id: SessionId,
        action: ControlAction,
    ) -> Result<Session, RuntimeError> {
        let control = self.parts.control.as_ref();
        let clock = self.parts.clock.as_ref();
        let request = control.enqueue_control(id, &action, clock.now()).await?;
        info!(session_id = %id, request_id = %request, "asked the session's owner");
        let waited = self.config.interrupt.deadline() + Duration::from_secs(5);
        let began = clock.monotonic();
        let mut next_look = began;
        let mut settled_since = None;
        let mut stopped_since = None;
        loop {
            match control.control_answer(request).await? {
                Some(ControlAnswer::Succeeded { .. }) => return self.session(id).await,
                Some(ControlAnswer::Refused { code, message }) => {
                    return Err(RuntimeError::Refused { code, message })
                }
                None => {}
            }
            let now = clock.monotonic();
            if now - began >= waited {
                // Never carried out later by surprise: withdrawn, unless an owner has it.
                if let Err(error) = control.withdraw_control(request, clock.now()).await {
                    warn!(session_id = %id, %error, "could not withdraw an unanswered request");
                }
                return Err(RuntimeError::NoAnswer { id, waited });
            }
            if now >= next_look {
                // An owner that dies before answering must not leave us waiting: recover it,
                // and once the session has settled without an answer, its status answers.
                next_look = now + Duration::from_secs(1);
                self.recover().await?;
                // A stopped owner answers nothing until it is continued: say so now rather
                // than past the deadline (after a grace for a stop that is only brief).
                match self.stopped_owner(id).await? {
                    Some(owner) => {
                        let since = *stopped_since.get_or_insert(now);
                        if now - since >= STOPPED_OWNER_GRACE {
                            return Err(RuntimeError::OwnerStopped {
                                id,
                                pid: owner.pid,
                                state: owner.describe(),
                            });
                        }
                    }
                    None => stopped_since = None,
                }
                let session = self.session(id).await?;
                if !session.status.is_live() {
                    let since = *settled_since.get_or_insert(now);
                    // Settled without our request: unless an owner claimed it (and so will
                    // answer it), it was never carried out, and never will be.
                    if now - since >= Duration::from_secs(1)
                        && control.withdraw_control(request, clock.now()).await?
                    {
                        return Err(not_carried_out(id, &action, session.status));
                    }
                }
            }
            clock.sleep_until(now + self.config.poll_interval).await;
        }
    }

    /// The owner of live session `id` if it is a stopped process on this host.
    async fn stopped_owner(&self, id: SessionId) -> Result<Option<FrozenOwner>, RuntimeError> {
        let control = &self.parts.control;
        let Some(owner) = control
            .live_sessions()
            .await?
            .into_iter()
            .find(|owned| owned.session.id == id)
            .and_then(|owned| owned.owner)
        else {
            return Ok(None);
        };
        let leases = control.leases().await?;
        Ok(leases
            .iter()
            .find(|lease| lease.owner == owner)
            .and_then(|lease| {
                FrozenOwner::of(
                    lease,
                    &self.parts.identity.host,
                    self.parts.processes.as_ref(),
                )
            }))
    }
}

/// The error for a request its session settled before any owner took: nothing was done,
/// and what the session's owner would have said then.
fn not_carried_out(id: SessionId, action: &ControlAction, status: SessionStatus) -> RuntimeError {
    match action {
        ControlAction::Interrupt { .. } => SupervisorError::NotRunning { id, status }.into(),
        ControlAction::Answer { request_id, .. } => SupervisorError::NoPendingApproval {
            id,
            request_id: request_id.clone(),
        }
        .into(),
        ControlAction::Send { .. } => SupervisorError::NotAcceptingInput {
            id,
            status,
            reason: "it has no live run; resume it to continue the conversation".to_owned(),
        }
        .into(),
        ControlAction::Close => SupervisorError::NotIdle { id, status }.into(),
        ControlAction::Resume { .. } => RuntimeError::Refused {
            code: "not_carried_out".to_owned(),
            message: format!(
                "session {id} became {status} before its owner took the request; nothing was done: try again"
            ),
        },
    }
}
