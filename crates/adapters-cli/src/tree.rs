//! Reading the process tree from `/proc`: who descends from the agent, and since when.

use std::collections::{HashMap, HashSet};
use std::fs;

use lulu_domain::ProcessRecord;

/// What Lulu reads from `/proc/<pid>/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// Process id.
    pub pid: u32,
    /// State letter (`R`, `S`, `Z`, ...).
    pub state: char,
    /// Parent process id.
    pub ppid: u32,
    /// Process group id.
    pub pgid: u32,
    /// Start time in clock ticks after boot (field 22).
    pub start_time: u64,
    /// Its number of threads (field 20).
    pub threads: u32,
}

impl ProcStat {
    /// The record that identifies this process.
    pub fn record(&self) -> ProcessRecord {
        ProcessRecord {
            pid: self.pid,
            pgid: self.pgid,
            start_time: self.start_time,
        }
    }

    /// True for a process that has exited but was not reaped yet.
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, 'Z' | 'X')
    }
}

/// Reads `/proc/<pid>/stat`; `None` if the process does not exist (or is unreadable).
pub fn read_stat(pid: u32) -> Option<ProcStat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(pid, &text)
}

/// Whether the process that started at `start_time` as `pid` is gone: no such pid, a
/// zombie, or another process (other start time). A `/proc` read that fails for any other
/// reason (a full file table, a busy machine) proves nothing: the process is not gone.
pub fn process_gone(pid: u32, start_time: u64) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(text) => parse_stat(pid, &text)
            .is_none_or(|stat| stat.state == 'Z' || stat.start_time != start_time),
        Err(error) => {
            error.kind() == std::io::ErrorKind::NotFound
                || error.raw_os_error() == Some(nix::errno::Errno::ESRCH as i32)
        }
    }
}

/// A living process's start time (clock ticks after boot, `/proc/<pid>/stat` field 22).
/// `None` when there is no such process or it is a zombie: a zombie has died, it only
/// waits to be reaped (and an init that reaps late, or never, must not keep it "alive").
pub fn process_start_time(pid: u32) -> Option<u64> {
    read_stat(pid)
        .filter(|stat| stat.state != 'Z')
        .map(|stat| stat.start_time)
}

/// The record of `pid`, a process leading a group of its own (an agent spawned with
/// `process_group(0)`); start time 0 if it is already gone.
pub fn group_leader_record(pid: u32) -> ProcessRecord {
    ProcessRecord {
        pid,
        pgid: pid,
        start_time: process_start_time(pid).unwrap_or(0),
    }
}

/// The live process that `record` names: same pid *and* same start time, so a reused
/// pid is never mistaken for the recorded process.
pub fn still_running(record: &ProcessRecord) -> Option<ProcStat> {
    read_stat(record.pid).filter(|stat| stat.start_time == record.start_time)
}

/// Parses a stat line. The command name sits in parentheses and may itself hold spaces
/// and parentheses, so fields are counted from the last `)`.
pub(crate) fn parse_stat(pid: u32, text: &str) -> Option<ProcStat> {
    let after_name = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // fields[0] is field 3 (state); field N is fields[N - 3].
    Some(ProcStat {
        pid,
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        pgid: fields.get(2)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
        threads: fields.get(17)?.parse().ok()?,
    })
}

/// The pids listed in `/proc`.
fn all_pids() -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .collect()
}

/// Every process under `root` (children, grandchildren, ...), found through ppid links.
pub fn descendants(root: u32) -> Vec<ProcStat> {
    let mut children: HashMap<u32, Vec<ProcStat>> = HashMap::new();
    for stat in all_pids().into_iter().filter_map(read_stat) {
        children.entry(stat.ppid).or_default().push(stat);
    }
    let mut found = Vec::new();
    let mut seen = HashSet::from([root]);
    let mut queue = vec![root];
    while let Some(parent) = queue.pop() {
        for child in children.remove(&parent).unwrap_or_default() {
            if seen.insert(child.pid) {
                queue.push(child.pid);
                found.push(child);
            }
        }
    }
    found
}

/// Every process whose environment holds `entry` (`NAME=value`) exactly. Catches what
/// ppid links lose: a tool's background child re-parented after its parent exited.
/// Only processes this user may read are seen.
pub fn processes_with_env(entry: &str) -> Vec<ProcStat> {
    all_pids()
        .into_iter()
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                environ
                    .split(|byte| *byte == 0)
                    .any(|pair| pair == entry.as_bytes())
            })
        })
        .filter_map(read_stat)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_zombie_has_no_start_time() {
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("true runs");
        let pid = child.id();
        let began = std::time::Instant::now();
        // Not reaped yet: once it has exited it is a zombie.
        while read_stat(pid).is_some_and(|stat| stat.state != 'Z') {
            assert!(
                began.elapsed() < std::time::Duration::from_secs(10),
                "`true` never exited"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(
            read_stat(pid).is_some(),
            "the zombie is still in the process table"
        );
        assert_eq!(process_start_time(pid), None);
        child.wait().expect("reaped");
    }

    use super::*;

    #[test]
    fn a_command_name_with_spaces_and_parentheses_does_not_shift_fields() {
        let line =
            "4242 (we (ird) name) S 17 4242 17 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 0 0";
        let stat = parse_stat(4242, line).unwrap();
        assert_eq!(
            (stat.state, stat.ppid, stat.pgid, stat.start_time),
            ('S', 17, 4242, 987_654)
        );
    }

    #[test]
    fn only_a_missing_pid_or_another_start_time_makes_a_process_gone() {
        let me = std::process::id();
        let started = process_start_time(me).unwrap();
        assert!(!process_gone(me, started));
        assert!(process_gone(me, started + 1));
        assert!(process_gone(u32::MAX, started));
    }

    #[test]
    fn the_current_process_has_a_start_time_and_a_missing_pid_has_none() {
        assert!(process_start_time(std::process::id()).is_some());
        assert_eq!(process_start_time(u32::MAX), None);
    }
}
