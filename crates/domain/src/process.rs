//! Processes a run left on the machine, identified well enough to kill them safely later.

use serde::{Deserialize, Serialize};

/// One process of a run's tree (the agent or a descendant), recorded while the run lived.
///
/// A pid alone is not an identity: after the process dies the number can be reused.
/// `start_time` (clock ticks after boot, `/proc/<pid>/stat` field 22) pins it down, so
/// recovery kills a recorded group only if its leader is still the same process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProcessRecord {
    /// Process id.
    pub pid: u32,
    /// Its process group id (tools run under `setsid`, in groups of their own).
    pub pgid: u32,
    /// Start time in clock ticks after boot.
    pub start_time: u64,
}
