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

/// Whether the owner behind `lease` is gone: its process on this host no longer exists, is
/// a zombie, or its pid now belongs to another process (other start time). A lease's
/// expiry never decides it (a busy machine renews late), and an owner on another host is
/// never gone as far as this host can tell: its process cannot be checked from here.
pub fn owner_is_gone(lease: &OwnerLease, host: &str, processes: &dyn ProcessTable) -> bool {
    lease.host == host && processes.is_gone(lease.pid, lease.start_time)
}

/// Why an owner's process on this host cannot answer although it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrozenOwner {
    /// Its process id.
    pub pid: u32,
    /// Its state letter in `/proc/<pid>/stat`.
    pub state: char,
}

impl FrozenOwner {
    /// The owner behind `lease` if its process is stopped (`T`, by a signal such as
    /// SIGSTOP) or stopped by a debugger (`t`): it answers nothing until it is continued.
    pub fn of(lease: &OwnerLease, host: &str, processes: &dyn ProcessTable) -> Option<Self> {
        if lease.host != host {
            return None;
        }
        let state = processes.state(lease.pid, lease.start_time)?;
        matches!(state, 'T' | 't').then_some(Self {
            pid: lease.pid,
            state,
        })
    }

    /// The state in words.
    pub fn describe(&self) -> &'static str {
        describe_state(self.state)
    }
}

/// A `/proc/<pid>/stat` state letter in words.
pub fn describe_state(state: char) -> &'static str {
    match state {
        'R' => "running",
        'S' => "sleeping",
        'D' => "in uninterruptible sleep (waiting on the disk or the kernel)",
        'T' => "stopped by a signal (such as SIGSTOP or Ctrl-Z)",
        't' => "stopped by a debugger",
        'Z' => "a zombie (it exited but was not reaped)",
        'X' => "dead",
        'I' => "idle",
        _ => "in an unknown state",
    }
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
        assert!(!owner_is_gone(
            &lease("here", 100, 5000, 10),
            "here",
            &processes
        ));
        assert!(
            !owner_is_gone(&lease("here", 100, 5000, -60), "here", &processes),
            "a lapsed lease of a living owner: renewed late, not gone"
        );
        assert!(
            owner_is_gone(&lease("here", 100, 4000, 10), "here", &processes),
            "pid reused"
        );
        assert!(
            owner_is_gone(&lease("here", 101, 5000, 10), "here", &processes),
            "no such pid"
        );
    }

    #[test]
    fn a_remote_owner_is_never_gone_even_when_its_lease_lapsed() {
        let processes = FakeProcesses::with(&[]);
        assert!(!owner_is_gone(
            &lease("there", 100, 5000, 10),
            "here",
            &processes
        ));
        assert!(!owner_is_gone(
            &lease("there", 100, 5000, -3600),
            "here",
            &processes
        ));
    }

    #[test]
    fn a_stopped_local_owner_is_frozen_and_a_running_or_remote_one_is_not() {
        let processes = FakeProcesses::with(&[(100, 5000), (200, 6000)]);
        processes.set_state(100, 'T');
        assert_eq!(
            FrozenOwner::of(&lease("here", 100, 5000, 10), "here", &processes),
            Some(FrozenOwner {
                pid: 100,
                state: 'T'
            })
        );
        assert_eq!(
            FrozenOwner::of(&lease("here", 100, 4000, 10), "here", &processes),
            None,
            "another process now has the pid"
        );
        assert_eq!(
            FrozenOwner::of(&lease("here", 200, 6000, 10), "here", &processes),
            None
        );
        assert_eq!(
            FrozenOwner::of(&lease("there", 100, 5000, 10), "here", &processes),
            None
        );
    }
}
