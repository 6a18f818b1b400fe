//! What the whole-system tests ask of `/proc`: pids, parents, states, environments and
//! command lines, and the reaping of what this subreaper adopts.

use std::path::Path;

use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

use crate::harness::own_children;

/// Reaps zombies that were reparented to this process (never our own `Command`s).
pub fn reap_orphans() {
    let me = std::process::id().cast_signed();
    // Held for the whole pass: a child spawned meanwhile is remembered before it is seen.
    let own = own_children().lock().unwrap();
    for pid in all_pids() {
        if own.contains(&pid) {
            continue;
        }
        let Some((ppid, state)) = stat(pid) else {
            continue;
        };
        if ppid == me && state == 'Z' {
            let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
        }
    }
}

/// Every pid in `/proc`.
pub fn all_pids() -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .collect()
}

/// (ppid, state) from `/proc/<pid>/stat`.
pub fn stat(pid: i32) -> Option<(i32, char)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &text[text.rfind(')')? + 2..];
    let mut fields = after.split(' ');
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((ppid, state))
}

/// Every process (but this one) with `marker` (`NAME=value`) in its environment.
pub fn processes_with_env(marker: &str) -> Vec<i32> {
    let me = std::process::id().cast_signed();
    all_pids()
        .into_iter()
        .filter(|pid| *pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                environ
                    .split(|byte| *byte == 0)
                    .any(|var| var == marker.as_bytes())
            })
        })
        .collect()
}

/// The pids with their command lines, for failure messages.
pub fn describe(pids: &[i32]) -> String {
    pids.iter()
        .map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            format!("{pid} ({})", cmdline.trim())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a process with this pid exists (zombies included).
pub fn exists(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Whether `pid` is a living `lulu daemon`.
pub fn is_daemon(pid: i32) -> bool {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<&[u8]> = raw.split(|byte| *byte == 0).collect();
    args.get(1) == Some(&b"daemon".as_slice())
        && !args
            .get(2)
            .is_some_and(|arg| matches!(*arg, b"status" | b"stop" | b"restart"))
        && stat(pid).is_some_and(|(_, state)| state != 'Z')
}

/// Whether process `pid` has a handler for SIGINT installed (`SigCgt` in its status).
pub fn catches_sigint(pid: i32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (Signal::SIGINT as i32 - 1)) != 0)
}

/// The parent of a process.
pub fn parent_of(pid: i32) -> Option<i32> {
    stat(pid).map(|(ppid, _)| ppid)
}

/// Whether some descendant of `ancestor` runs a program called `name`.
pub fn has_descendant_named(ancestor: i32, name: &str) -> bool {
    all_pids().into_iter().any(|pid| {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        comm.trim() == name && descends_from(pid, ancestor)
    })
}

fn descends_from(mut pid: i32, ancestor: i32) -> bool {
    for _ in 0..64 {
        match parent_of(pid) {
            Some(parent) if parent == ancestor => return true,
            Some(parent) if parent > 1 => pid = parent,
            _ => return false,
        }
    }
    false
}
