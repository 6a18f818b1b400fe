//! The interrupt policy: when to stop gracefully, when to retry forcefully, when to give up.
//!
//! A pure function of (stop attempts made, time elapsed since the interrupt began), so it
//! is tested over a grid without sleeping. The supervisor asks it what to do next each
//! time something happens (an attempt was made, a wait ended).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The policy's durations, checked at construction: `grace < deadline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterruptPolicy {
    grace: Duration,
    deadline: Duration,
}

/// The error returned for durations that leave no room for the forceful retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the interrupt grace period ({grace:?}) must be shorter than the total deadline ({deadline:?})"
)]
pub struct InvalidInterruptPolicy {
    /// The grace period given.
    pub grace: Duration,
    /// The deadline given.
    pub deadline: Duration,
}

/// How much patience an interrupt has with the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterruptMode {
    /// A graceful stop first; the forceful one only after the grace period.
    #[default]
    Graceful,
    /// No grace: the forceful stop follows the graceful one at once (a user who asked
    /// twice). The deadline stays.
    Immediate,
}

/// What the supervisor should do next about an interrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InterruptStep {
    /// Ask the run to stop gracefully.
    StopGracefully,
    /// Wait for the run to exit until this much time has elapsed since the interrupt began.
    WaitUntil(Duration),
    /// Stop the run forcefully (silently: only a trace records it).
    StopForcefully,
    /// The deadline passed: the run is still alive and the interrupt has failed.
    GiveUp,
}

impl Default for InterruptPolicy {
    /// Grace 2 s, deadline 10 s.
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(2),
            deadline: Duration::from_secs(10),
        }
    }
}

impl InterruptPolicy {
    /// A policy with the given grace period and total deadline.
    pub fn new(grace: Duration, deadline: Duration) -> Result<Self, InvalidInterruptPolicy> {
        if grace.is_zero() || grace >= deadline {
            return Err(InvalidInterruptPolicy { grace, deadline });
        }
        Ok(Self { grace, deadline })
    }

    /// How long the graceful stop is given before the forceful retry.
    pub const fn grace(&self) -> Duration {
        self.grace
    }

    /// How long the whole interrupt may take before it gives up.
    pub const fn deadline(&self) -> Duration {
        self.deadline
    }

    /// This policy as an interrupt in `mode` applies it: [`InterruptMode::Immediate`]
    /// leaves no grace period, so the forceful stop comes right after the graceful one.
    #[must_use]
    pub const fn in_mode(self, mode: InterruptMode) -> Self {
        match mode {
            InterruptMode::Graceful => self,
            InterruptMode::Immediate => Self {
                grace: Duration::ZERO,
                deadline: self.deadline,
            },
        }
    }

    /// The next step after `attempts` stop requests, `elapsed` after the interrupt began.
    ///
    /// One graceful attempt, one forceful retry once the grace period is over, and the
    /// give-up exactly at the deadline, never before.
    pub fn next_step(&self, attempts: u32, elapsed: Duration) -> InterruptStep {
        if elapsed >= self.deadline {
            return InterruptStep::GiveUp;
        }
        match attempts {
            0 => InterruptStep::StopGracefully,
            1 if elapsed < self.grace => InterruptStep::WaitUntil(self.grace),
            1 => InterruptStep::StopForcefully,
            _ => InterruptStep::WaitUntil(self.deadline),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    #[test]
    fn durations_must_leave_room_for_the_retry() {
        let two = Duration::from_secs(2);
        assert!(InterruptPolicy::new(two, two).is_err());
        assert!(InterruptPolicy::new(Duration::ZERO, two).is_err());
        assert!(InterruptPolicy::new(Duration::from_secs(1), two).is_ok());
    }

    #[test]
    fn policy_decisions_over_a_grid_of_attempts_and_elapsed_time() {
        let policy = InterruptPolicy::default();
        let elapsed_ms = [
            0, 1, 1_999, 2_000, 2_001, 5_000, 9_999, 10_000, 10_001, 60_000,
        ];
        let mut table = String::from("attempts | elapsed  | next step\n");
        for attempts in 0..=3 {
            for ms in elapsed_ms {
                let step = policy.next_step(attempts, Duration::from_millis(ms));
                let step = match step {
                    InterruptStep::WaitUntil(at) => format!("wait until {} ms", at.as_millis()),
                    other => format!("{other:?}"),
                };
                writeln!(table, "{attempts:>8} | {ms:>6} ms | {step}").unwrap();
            }
        }
        insta::assert_snapshot!(table);
    }

    #[test]
    fn an_immediate_interrupt_stops_forcefully_right_after_the_graceful_stop() {
        let policy = InterruptPolicy::default().in_mode(InterruptMode::Immediate);
        assert_eq!(
            policy.next_step(0, Duration::ZERO),
            InterruptStep::StopGracefully
        );
        assert_eq!(
            policy.next_step(1, Duration::ZERO),
            InterruptStep::StopForcefully
        );
        assert_eq!(
            policy.next_step(2, Duration::from_millis(1)),
            InterruptStep::WaitUntil(Duration::from_secs(10))
        );
        assert_eq!(
            policy.next_step(2, Duration::from_secs(10)),
            InterruptStep::GiveUp
        );
        let graceful = InterruptPolicy::default();
        assert_eq!(graceful.in_mode(InterruptMode::Graceful), graceful);
    }

    #[test]
    fn configured_durations_are_honoured() {
        let policy =
            InterruptPolicy::new(Duration::from_millis(500), Duration::from_secs(3)).unwrap();
        assert_eq!(
            policy.next_step(1, Duration::from_millis(100)),
            InterruptStep::WaitUntil(Duration::from_millis(500))
        );
        assert_eq!(
            policy.next_step(1, Duration::from_millis(500)),
            InterruptStep::StopForcefully
        );
        assert_eq!(
            policy.next_step(2, Duration::from_secs(3)),
            InterruptStep::GiveUp
        );
    }
}
