//! Run slots shared by every process on one database: the limit holds machine-wide, and
//! sessions start in the order they were queued.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use lulu_domain::ports::{Clock, ControlStore, RunSlot, RunSlots, SlotError};
use lulu_domain::SessionId;

/// Slots counted in the shared database, polled until one is free.
pub struct SharedSlots {
    control: Arc<dyn ControlStore>,
    clock: Arc<dyn Clock>,
    limit: usize,
    poll: Duration,
}

impl SharedSlots {
    /// At most `limit` live runs across all processes; waiting callers look again every `poll`.
    pub fn new(
        control: Arc<dyn ControlStore>,
        clock: Arc<dyn Clock>,
        limit: usize,
        poll: Duration,
    ) -> Self {
        Self {
            control,
            clock,
            limit: limit.max(1),
            poll,
        }
    }
}

#[async_trait]
impl RunSlots for SharedSlots {
    async fn acquire(&self, session: SessionId) -> Result<RunSlot, SlotError> {
        loop {
            let taken = self
                .control
                .try_take_slot(session, self.limit, self.clock.now())
                .await
                .map_err(|error| SlotError {
                    message: error.to_string(),
                })?;
            if taken {
                // The slot is freed by the database once the session settles.
                return Ok(RunSlot::new(()));
            }
            let clock = &self.clock;
            clock.sleep_until(clock.monotonic() + self.poll).await;
        }
    }
}
