//! The id generator port.

use uuid::Uuid;

use crate::ids::{RunId, SessionId};

/// Makes new ids; injected so tests get predictable ones.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait IdGenerator: Send + Sync {
    /// A new, never-used session id.
    fn session_id(&self) -> SessionId;
    /// A new, never-used run id.
    fn run_id(&self) -> RunId;
}

/// Random (v4) UUIDs: not derived from anything local, so ids stay unique across machines.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomIds;

impl IdGenerator for RandomIds {
    fn session_id(&self) -> SessionId {
        SessionId::from_uuid(Uuid::new_v4())
    }

    fn run_id(&self) -> RunId {
        RunId::from_uuid(Uuid::new_v4())
    }
}
