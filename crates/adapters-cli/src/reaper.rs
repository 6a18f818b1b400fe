//! Reaping what this process adopts as a child subreaper, without ever stealing the exit
//! status of an agent it spawned.
//!
//! The launcher registers each agent's pid in the same critical section as its spawn, and
//! releases it once tokio has reaped it. The reaper waits (`WNOHANG`) only for zombie
//! children that are not registered: orphans re-parented here (a tool's background child,
//! a double-forked grandchild), recorded or not. Registration and the reaper's scan hold
//! one lock, so an agent that dies the instant it is spawned is still tokio's to reap.
//!
//! Only a process whose every other child is reaped this way (an owner of runs) may run
//! the reaper: a child spawned by other code in the same process would be reaped too.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::tree::read_stat;
use crate::walk::{ProcReader, WalkMode};

/// Pids of the agents this process spawned and waits for itself.
fn registry() -> &'static Mutex<HashSet<u32>> {
    static AGENTS: OnceLock<Mutex<HashSet<u32>>> = OnceLock::new();
    AGENTS.get_or_init(Mutex::default)
}

/// The registry, locked: spawn an agent and [`insert`](HashSet::insert) its pid while
/// holding it.
pub(crate) fn agents() -> MutexGuard<'static, HashSet<u32>> {
    registry().lock().unwrap_or_else(PoisonError::into_inner)
}

/// Forgets an agent once it has been reaped.
pub(crate) fn release(pid: u32) {
    agents().remove(&pid);
}

/// This process's children: `/proc/self/task/<tid>/children` where the kernel has it,
/// else a walk of `/proc` for processes whose parent is this one.
fn own_children() -> Vec<u32> {
    ProcReader::system().children_by(std::process::id(), WalkMode::detect())
}

/// Reaps every zombie child of this process that is not an agent the launcher spawned
/// (those are reaped by their owner task). Returns how many it reaped. Cheap: it reads
/// only this process's children. Call it periodically in a process that owns runs.
pub fn reap_adopted_children() -> usize {
    let agents = agents();
    let reaped = reap_zombies_among(&own_children(), &agents);
    if reaped > 0 {
        tracing::debug!(reaped, "reaped adopted children");
    }
    reaped
}

/// Reaps the zombies among `children` (this process's) that are not in `agents`.
fn reap_zombies_among(children: &[u32], agents: &HashSet<u32>) -> usize {
    let me = std::process::id();
    let mut reaped = 0;
    for &pid in children {
        if agents.contains(&pid) {
            continue;
        }
        let zombie_child = read_stat(pid).is_some_and(|stat| stat.ppid == me && stat.is_zombie());
        let Ok(raw) = i32::try_from(pid) else {
            continue;
        };
        if zombie_child
            && !matches!(
                waitpid(Pid::from_raw(raw), Some(WaitPidFlag::WNOHANG)),
                Ok(WaitStatus::StillAlive) | Err(_)
            )
        {
            reaped += 1;
        }
    }
    reaped
}

#[cfg(test)]
mod tests {
    use std::process::Command;
    use std::time::{Duration, Instant};

    use super::*;

    /// Waits until `pid` (a child of this process) has exited and is a zombie.
    fn until_zombie(pid: u32) {
        let began = Instant::now();
        while !read_stat(pid).is_some_and(|stat| stat.is_zombie()) {
            assert!(
                began.elapsed() < Duration::from_secs(10),
                "{pid} never exited"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_zombie_that_is_no_agent_is_reaped_and_an_agents_exit_status_is_left_to_its_owner() {
        let mut agent = Command::new("sh").args(["-c", "exit 7"]).spawn().unwrap();
        let mut adopted = Command::new("true").spawn().unwrap();
        until_zombie(agent.id());
        until_zombie(adopted.id());
        let agents = HashSet::from([agent.id()]);

        let reaped = reap_zombies_among(&[agent.id(), adopted.id()], &agents);

        assert_eq!(reaped, 1);
        assert!(read_stat(adopted.id()).is_none(), "the zombie is gone");
        assert!(
            adopted.wait().is_err(),
            "its status was taken by the reaper"
        );
        let status = agent.wait().expect("the agent's status is still there");
        assert_eq!(status.code(), Some(7));
    }

    #[test]
    fn this_process_lists_its_own_children() {
        let mut child = Command::new("sleep").arg("5").spawn().unwrap();
        let listed = own_children().contains(&child.id());
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(listed);
    }
}
