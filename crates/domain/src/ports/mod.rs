//! Ports: the traits the domain owns and adapters implement.
//!
//! Each method documents its error contract. With the `mocks` feature (and in this
//! crate's tests) every port has a mockall mock named `Mock<Trait>`.

mod changes;
mod clock;
mod control;
mod ids;
mod launcher;
mod slots;
mod store;
mod updates;
mod usage;

pub use changes::{ChangeCursor, Changes, TranscriptProgress};
pub use clock::{Clock, SystemClock};
pub use control::{
    ControlAction, ControlAnswer, ControlRequest, ControlStore, OwnedSession, OwnerLease,
};
pub use ids::{IdGenerator, RandomIds};
pub use launcher::{AgentLauncher, LaunchError, RunControl, RunHandle, RunSpec, StopError};
pub use slots::{LocalSlots, RunSlot, RunSlots, SlotError};
pub use store::{ListCursor, SessionQuery, SessionStore, SessionSummary, SessionWrite, StoreError};
pub use updates::{BroadcastUpdates, SessionUpdate, UpdatePublisher};
pub use usage::{
    is_within, order_usage, subtree_bounds, without_trailing_slash, SessionFilter, UsageGrouping,
    UsageRow,
};

#[cfg(any(test, feature = "mocks"))]
pub use clock::MockClock;
#[cfg(any(test, feature = "mocks"))]
pub use control::MockControlStore;
#[cfg(any(test, feature = "mocks"))]
pub use ids::MockIdGenerator;
#[cfg(any(test, feature = "mocks"))]
pub use launcher::{MockAgentLauncher, MockRunControl};
#[cfg(any(test, feature = "mocks"))]
pub use slots::MockRunSlots;
#[cfg(any(test, feature = "mocks"))]
pub use store::MockSessionStore;
#[cfg(any(test, feature = "mocks"))]
pub use updates::MockUpdatePublisher;
