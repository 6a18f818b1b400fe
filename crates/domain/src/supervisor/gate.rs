//! The per-session operation gate: one lifecycle operation per session at a time.
//!
//! User operations `try_enter` and are refused at once when the session is busy; the
//! supervisor's own launch task `enter`s and waits its turn. Sessions never wait on
//! each other: the set's lock is held only to insert or remove one id.

use std::collections::HashSet;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;

use crate::ids::SessionId;

/// The set of sessions with an operation in flight.
#[derive(Debug, Default)]
pub(crate) struct OperationGate {
    in_flight: Mutex<HashSet<SessionId>>,
    released: Notify,
}

/// Proof that an operation holds a session; releases it on drop.
#[derive(Debug)]
pub(crate) struct GatePass {
    gate: Arc<OperationGate>,
    id: SessionId,
}

impl OperationGate {
    /// Enters at once, or returns `None` if another operation holds the session.
    pub(crate) fn try_enter(self: &Arc<Self>, id: SessionId) -> Option<GatePass> {
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        in_flight.insert(id).then(|| GatePass {
            gate: Arc::clone(self),
            id,
        })
    }

    /// Waits until the session is free, then enters.
    pub(crate) async fn enter(self: &Arc<Self>, id: SessionId) -> GatePass {
        loop {
            // Register for the wake-up before checking, so a release in between is not missed.
            let mut released = pin!(self.released.notified());
            released.as_mut().enable();
            if let Some(pass) = self.try_enter(id) {
                return pass;
            }
            released.await;
        }
    }
}

impl Drop for GatePass {
    fn drop(&mut self) {
        self.gate
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
        self.gate.released.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use uuid::Uuid;

    use super::*;

    fn id(n: u128) -> SessionId {
        SessionId::from_uuid(Uuid::from_u128(n))
    }

    #[test]
    fn a_busy_session_is_refused_and_free_again_after_release() {
        let gate = Arc::new(OperationGate::default());
        let first = gate.try_enter(id(1)).expect("free");
        assert!(gate.try_enter(id(1)).is_none());
        assert!(gate.try_enter(id(2)).is_some(), "other sessions never wait");
        drop(first);
        assert!(gate.try_enter(id(1)).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn enter_waits_for_the_holder_to_finish() {
        let gate = Arc::new(OperationGate::default());
        let held = gate.try_enter(id(1)).expect("free");
        let waiter = tokio::spawn({
            let gate = Arc::clone(&gate);
            async move { gate.enter(id(1)).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished());
        drop(held);
        let pass = tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("entered after release")
            .expect("task ran");
        assert_eq!(pass.id, id(1));
    }
}
