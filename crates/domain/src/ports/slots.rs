//! The run slots port: how many runs may be alive at once, and who goes next.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Semaphore;

use crate::ids::SessionId;

/// Permission for one session to have a live run; the slot frees when this is dropped.
pub struct RunSlot {
    _release: Box<dyn Send + Sync>,
}

impl RunSlot {
    /// A slot that frees by dropping `release` (a permit, a guard that deletes a row...).
    pub fn new(release: impl Send + Sync + 'static) -> Self {
        Self {
            _release: Box::new(release),
        }
    }
}

impl std::fmt::Debug for RunSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RunSlot")
    }
}

/// Why no slot could be granted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not reserve a run slot: {message}")]
pub struct SlotError {
    /// What went wrong.
    pub message: String,
}

/// Grants run slots, first come first served.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RunSlots: Send + Sync {
    /// Waits until `session` may launch a run, and returns the slot it holds while the run lives.
    ///
    /// # Errors
    /// [`SlotError`] when the slot bookkeeping itself fails (e.g. the shared database);
    /// the session then stays queued.
    async fn acquire(&self, session: SessionId) -> Result<RunSlot, SlotError>;
}

/// Slots counted in this process only: a fair semaphore of `limit` permits.
#[derive(Debug, Clone)]
pub struct LocalSlots {
    permits: Arc<Semaphore>,
}

impl LocalSlots {
    /// At most `limit` live runs (at least 1).
    pub fn new(limit: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limit.max(1))),
        }
    }
}

#[async_trait]
impl RunSlots for LocalSlots {
    async fn acquire(&self, _session: SessionId) -> Result<RunSlot, SlotError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| SlotError {
                message: "the slot pool was closed".into(),
            })?;
        Ok(RunSlot::new(permit))
    }
}
