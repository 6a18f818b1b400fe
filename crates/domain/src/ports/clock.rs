//! The clock port: wall time for stored timestamps, monotonic time for deadlines.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// Tells the time and sleeps; injected so tests control time.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Clock: Send + Sync {
    /// Wall-clock time, for stored timestamps.
    fn now(&self) -> DateTime<Utc>;

    /// Monotonic time, for deadlines.
    fn monotonic(&self) -> Instant;

    /// Returns once `deadline` (monotonic) has been reached. Never fails.
    async fn sleep_until(&self, deadline: Instant);
}

/// The real clock: system wall time and tokio's monotonic timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn monotonic(&self) -> Instant {
        Instant::now()
    }

    async fn sleep_until(&self, deadline: Instant) {
        tokio::time::sleep_until(deadline).await;
    }
}
