//! Lulu's domain: the pure core every adapter and front end plugs into.
//!
//! It holds the session lifecycle ([`lifecycle::transition`]), the interrupt policy, the
//! dashboard projection, the ports adapters implement, and the [`SessionSupervisor`], the
//! only mutator of lifecycle state.
//!
//! Invariants: no I/O of its own (no `std::fs`, `std::process`, `std::env`, no database,
//! no process spawning); time and ids come from ports; every status change goes through
//! `transition` and is stored before it is announced. With the `mocks` feature it also
//! exports mockall mocks of the ports and in-memory fakes for other crates' tests.

pub mod agent;
pub mod approval;
pub mod ids;
pub mod input;
pub mod interrupt;
pub mod lifecycle;
pub mod ports;
pub mod process;
pub mod projection;
pub mod session;
pub mod supervisor;
#[cfg(any(test, feature = "mocks"))]
pub mod testing;

pub use agent::{AgentEvent, PermissionDenial, ReportedAgent, RunExit, RunUpdate, TranscriptEntry};
pub use approval::{ApprovalAnswer, ApprovalChange, ApprovalClosing, ApprovalRequest};
pub use ids::{ControlRequestId, InvalidId, OwnerId, RunId, SessionId};
pub use input::{
    is_terminal_control, AgentOptions, InputError, OptionOverrides, Prompt, SessionTitle,
    WorkingDir,
};
pub use interrupt::{InterruptMode, InterruptPolicy, InterruptStep};
pub use lifecycle::{
    transition, ConversationMode, Effect, LifecycleEvent, RunChange, StopMode, Transition,
    TransitionError,
};
pub use process::ProcessRecord;
pub use session::{
    FailureKind, Run, RunKind, RunOutcome, RunUsage, Session, SessionSpec, SessionStatus,
    UsageTotals,
};
pub use supervisor::{Ports, SessionSupervisor, SupervisorConfig, SupervisorError};
