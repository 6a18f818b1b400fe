//! The [`RunControl`] of a CLI run: a mailbox into the run's owner task.

use async_trait::async_trait;
use lulu_domain::ports::{RunControl, StopError};
use lulu_domain::StopMode;
use tokio::sync::mpsc;

/// Delivers stop requests to the task that owns the run's process.
#[derive(Debug, Clone)]
pub struct CliRunControl {
    stops: mpsc::UnboundedSender<StopMode>,
}

impl CliRunControl {
    /// A control that sends into `stops` (the owner closes it once the child is reaped).
    pub fn new(stops: mpsc::UnboundedSender<StopMode>) -> Self {
        Self { stops }
    }
}

#[async_trait]
impl RunControl for CliRunControl {
    /// Queues the request for the owner task and returns at once.
    ///
    /// # Errors
    /// [`StopError::AlreadyExited`] once the process has been reaped.
    async fn stop(&self, mode: StopMode) -> Result<(), StopError> {
        self.stops.send(mode).map_err(|_| StopError::AlreadyExited)
    }
}
