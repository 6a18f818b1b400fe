//! One pace for every store operation the supervisor retries: a little longer after each
//! failure, never longer than [`MAX_BACK_OFF`]; the first failure is a warning, repeats are
//! diagnostics.

use std::fmt::Display;
use std::time::Duration;

use tracing::{debug, warn};

use crate::ports::Clock;

/// The longest pause between two attempts.
pub(super) const MAX_BACK_OFF: Duration = Duration::from_secs(5);

/// The failures of one operation so far.
pub(super) struct Retries<'a> {
    clock: &'a dyn Clock,
    failures: u32,
    what: &'static str,
}

impl<'a> Retries<'a> {
    /// No failure yet of the operation `what` (a phrase for the log: "store the run's end").
    pub(super) fn new(clock: &'a dyn Clock, what: &'static str) -> Self {
        Self {
            clock,
            failures: 0,
            what,
        }
    }

    /// Notes a failure; returns how many there have been.
    pub(super) fn failed(&mut self, error: &dyn Display) -> u32 {
        self.failures = self.failures.saturating_add(1);
        let (what, failures) = (self.what, self.failures);
        if failures == 1 {
            warn!(%error, "could not {what}; retrying");
        } else {
            debug!(%error, failures, "could not {what}; retrying");
        }
        failures
    }

    /// Waits before the next attempt.
    pub(super) async fn pause(&self) {
        let pause = (Duration::from_millis(200) * self.failures.max(1)).min(MAX_BACK_OFF);
        self.clock.sleep_until(self.clock.monotonic() + pause).await;
    }
}
