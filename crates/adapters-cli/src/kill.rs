//! Killing a run's recorded process groups, safely, from any process.

use lulu_domain::ProcessRecord;
use nix::errno::Errno;
use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::{getpgrp, Pid};

use crate::tree::still_running;

/// Why the supervisor could not become a child subreaper.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not become a child subreaper (prctl PR_SET_CHILD_SUBREAPER): {0}")]
pub struct SubreaperError(Errno);

/// Makes this process a child subreaper: orphaned descendants (a tool whose agent died)
/// are re-parented to it instead of to init, so they can still be killed and reaped.
///
/// Call it once, early, in the process that hosts the launcher. The launcher reaps the
/// adopted processes it recorded; other adopted orphans stay zombies until this process
/// exits, so only a supervisor process should call this.
pub fn become_child_subreaper() -> Result<(), SubreaperError> {
    nix::sys::prctl::set_child_subreaper(true).map_err(SubreaperError)
}

/// Whether this process is a child subreaper ([`become_child_subreaper`]): then no
/// descendant of its children can leave its tree.
pub(crate) fn is_child_subreaper() -> bool {
    nix::sys::prctl::get_child_subreaper().unwrap_or(false)
}

/// Sends `SIGKILL` to the process group (and the process) of every record that still
/// names a live process: pid *and* start time are checked against `/proc` first, so a
/// reused pid is never hit. Usable by a process that did not spawn them (crash recovery).
///
/// Never signals the caller's own process group. Returns how many recorded processes were
/// still running and got the signal.
pub fn kill_recorded_groups(records: &[ProcessRecord]) -> usize {
    let own_group = getpgrp().as_raw();
    let mut signalled = 0;
    for record in records {
        let Some(stat) = still_running(record) else {
            continue;
        };
        if stat.is_zombie() {
            continue;
        }
        // Its group as it is now: a group id proven by a live member, never a stale one.
        let group = i32::try_from(stat.pgid).unwrap_or(0);
        if group > 1 && group != own_group {
            // ESRCH: the group emptied meanwhile; nothing left to do.
            let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
        }
        if let Ok(pid) = i32::try_from(record.pid) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        signalled += 1;
    }
    signalled
}

/// Reaps recorded processes that were adopted by this process (it is a subreaper) and
/// have died. Must never be given the launcher's own direct children (tokio reaps those).
pub(crate) fn reap_adopted(records: &[ProcessRecord]) {
    let me = std::process::id();
    for record in records {
        let Some(stat) = still_running(record) else {
            continue;
        };
        if stat.ppid != me || !stat.is_zombie() {
            continue;
        }
        if let Ok(pid) = i32::try_from(record.pid) {
            let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
        }
    }
}

/// The records whose process is still around in a form this process can act on: alive,
/// or a zombie waiting for this process to reap it.
pub(crate) fn lingering(records: &[ProcessRecord]) -> Vec<ProcessRecord> {
    let me = std::process::id();
    records
        .iter()
        .filter(|record| {
            still_running(record).is_some_and(|stat| !stat.is_zombie() || stat.ppid == me)
        })
        .copied()
        .collect()
}
