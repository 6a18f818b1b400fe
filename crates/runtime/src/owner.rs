//! This process as an owner of runs: its identity, its lease, and how other owners are
//! judged alive or dead.

use chrono::{DateTime, Utc};

use lulu_domain::ports::OwnerLease;
use lulu_domain::OwnerId;

use crate::processes::ProcessTable;

/// Who this process is, well enough for others to tell whether it still lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerIdentity {
    /// Owner id (new for every process).
    pub owner: OwnerId,
    /// This process's id.
    pub pid: u32,
    /// Its start time in clock ticks after boot.
    pub start_time: u64,
    /// The host name.
    pub host: String,
}

impl OwnerIdentity {
    /// The lease this owner holds until `expires_at`.
    pub fn lease(&self, now: DateTime<Utc>, expires_at: DateTime<Utc>) -> OwnerLease {
        OwnerLease {
            owner: self.owner,
            pid: self.pid,
            start_time: self.start_time,
            host: self.host.clone(),
            heartbeat_at: now,
            expires_at,
        }
    }
}

/// Whether the owner behind `lease` is gone: on this host, its process no longer exists
/// (or its pid now belongs to another process); elsewhere, its lease has lapsed.
pub fn owner_is_gone(
    lease: &OwnerLease,
    host: &str,
    processes: &dyn ProcessTable,
    now: DateTime<Utc>,
) -> bool {
    if lease.host == host {
        return processes.start_time(lease.pid) != Some(lease.start_time);
    }
    lease.expires_at < now
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processes::tests::FakeProcesses;

    fn lease(host: &str, pid: u32, start_time: u64, expires_in: i64) -> OwnerLease {
        let now = lulu_domain::testing::epoch();
        OwnerLease {
            owner: OwnerId::from_uuid(uuid::Uuid::from_u128(1)),
            pid,
            start_time,
            host: host.into(),
            heartbeat_at: now,
            expires_at: now + chrono::Duration::seconds(expires_in),
        }
    }

    #[test]
    fn a_local_owner_is_gone_when_its_process_is_or_the_pid_was_reused() {
        let processes = FakeProcesses::with(&[(100, 5000)]);
        let now = lulu_domain::testing::epoch();
        assert!(!owner_is_gone(
            &lease("here", 100, 5000, 10),
            "here",
            &processes,
            now
        ));
        assert!(
            owner_is_gone(&lease("here", 100, 4000, 10), "here", &processes, now),
            "pid reused"
        );
        assert!(
            owner_is_gone(&lease("here", 101, 5000, 10), "here", &processes, now),
            "no such pid"
        );
    }

    #[test]
    fn a_remote_owner_is_gone_only_when_its_lease_lapsed() {
        let processes = FakeProcesses::with(&[]);
        let now = lulu_domain::testing::epoch();
        assert!(!owner_is_gone(
            &lease("there", 100, 5000, 10),
            "here",
            &processes,
            now
        ));
        assert!(owner_is_gone(
            &lease("there", 100, 5000, -1),
            "here",
            &processes,
            now
        ));
    }
}
