//! A `/proc` scan that reads only what changed since the last pass.
//!
//! Each pass lists `/proc` once (one directory read, whatever the number of processes) and
//! reads `stat` only for processes it has not seen before, the parents of those (so a new
//! process is attributed through a parent whose identity was just checked, never a stale
//! one), and processes whose parent is not known (it vanished, or was gone before its
//! `stat` could be read: they were re-parented since). Every
//! [`FULL_PASS_EVERY`]th pass reads every `stat` again, bounding what a stale entry can cost
//! (a pid reused within one tick). What a pass finds is the same [`Forest`] a full scan
//! gives: a process stays a descendant across re-parenting (this process is a child
//! subreaper, so orphans come back to it), and a process that is not one never becomes one.

use std::collections::{HashMap, HashSet};

use crate::tree::ProcStat;
use crate::walk::{forest_from, Forest, ProcReader};

/// Every how many passes all `stat` files are read again.
pub(crate) const FULL_PASS_EVERY: u32 = 25;

/// What the scan remembers between passes: the last `stat` read of every listed process.
#[derive(Debug, Default)]
pub(crate) struct KnownProcesses {
    stats: HashMap<u32, ProcStat>,
    passes: u32,
}

impl ProcReader {
    /// One pass: every descendant of `root`, reading only what changed since `known`.
    pub(crate) fn descendants_changed(&mut self, root: u32, known: &mut KnownProcesses) -> Forest {
        let listed: HashSet<u32> = self.names("").into_iter().collect();
        let full = known.passes.is_multiple_of(FULL_PASS_EVERY);
        known.passes = known.passes.wrapping_add(1);
        known.stats.retain(|pid, _| listed.contains(pid));
        let to_read: Vec<u32> = if full {
            known.stats.clear();
            listed.iter().copied().collect()
        } else {
            listed
                .iter()
                .filter(|pid| !known.stats.contains_key(pid))
                .copied()
                .collect()
        };
        let mut checked: HashSet<u32> = HashSet::new();
        self.read_changed(to_read, &mut checked, known);
        // A parent that is not known (gone since, or gone before its stat could be read)
        // means a stale parent link: the process was re-parented. Read it once more.
        let stale: Vec<u32> = known
            .stats
            .values()
            .filter(|stat| stat.ppid != 0 && !known.stats.contains_key(&stat.ppid))
            .map(|stat| stat.pid)
            .collect();
        for pid in &stale {
            checked.remove(pid);
        }
        self.read_changed(stale, &mut checked, known);
        forest_from(root, known.stats.values().copied())
    }

    /// Reads the `stat` of every pid in `to_read` not `checked` yet in this pass into
    /// `known`, and of the parent of each new one.
    fn read_changed(
        &mut self,
        mut to_read: Vec<u32>,
        checked: &mut HashSet<u32>,
        known: &mut KnownProcesses,
    ) {
        while let Some(pid) = to_read.pop() {
            if !checked.insert(pid) {
                continue;
            }
            let before = known.stats.remove(&pid);
            let Some(stat) = self.stat(pid) else {
                continue; // Gone since the listing.
            };
            let same = before.is_some_and(|old| old.start_time == stat.start_time);
            if !same && known.stats.contains_key(&stat.ppid) {
                // A new process: check that its parent is still the process remembered.
                to_read.push(stat.ppid);
            }
            known.stats.insert(pid, stat);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use super::*;

    fn process(proc: &Path, pid: u32, ppid: u32, start: u64) {
        let dir = proc.join(pid.to_string());
        fs::create_dir_all(&dir).unwrap();
        let stat =
            format!("{pid} (sh) S {ppid} {pid} {pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {start} 0 0");
        fs::write(dir.join("stat"), stat).unwrap();
    }

    fn pids(forest: &Forest) -> Vec<u32> {
        let mut pids: Vec<u32> = forest.stats.keys().copied().collect();
        pids.sort_unstable();
        pids
    }

    #[test]
    fn a_pass_reads_only_new_processes_their_parents_and_orphans_of_vanished_ones() {
        let proc = tempfile::tempdir().unwrap();
        process(proc.path(), 1, 0, 1);
        process(proc.path(), 10, 1, 10);
        process(proc.path(), 11, 10, 11);
        process(proc.path(), 12, 11, 12);
        process(proc.path(), 50, 0, 50);
        let mut known = KnownProcesses::default();
        let mut reader = ProcReader::at(proc.path().into());
        assert_eq!(
            pids(&reader.descendants_changed(1, &mut known)),
            [10, 11, 12]
        );
        assert_eq!(reader.reads, 1 + 5, "the first pass reads every stat");

        let mut reader = ProcReader::at(proc.path().into());
        assert_eq!(
            pids(&reader.descendants_changed(1, &mut known)),
            [10, 11, 12]
        );
        assert_eq!(reader.reads, 1, "nothing changed: only the listing");

        // 13 is new under 12 (12 is checked again); 11 exits and 12 comes back to 1.
        process(proc.path(), 13, 12, 13);
        fs::remove_dir_all(proc.path().join("11")).unwrap();
        process(proc.path(), 12, 1, 12);
        let mut reader = ProcReader::at(proc.path().into());
        let forest = reader.descendants_changed(1, &mut known);
        assert_eq!(pids(&forest), [10, 12, 13]);
        let mut top = forest.top.clone();
        top.sort_unstable();
        assert_eq!(top, [10, 12]);
        assert_eq!(reader.reads, 1 + 2, "the listing, 13 and 12");
    }

    #[test]
    fn a_reused_parent_pid_is_noticed_before_its_new_child_is_attributed() {
        let proc = tempfile::tempdir().unwrap();
        process(proc.path(), 1, 0, 1);
        process(proc.path(), 10, 1, 10);
        process(proc.path(), 60, 0, 60);
        let mut known = KnownProcesses::default();
        ProcReader::at(proc.path().into()).descendants_changed(1, &mut known);
        // 10 exited and its pid went to a process outside the tree, which forks 20.
        process(proc.path(), 10, 60, 99);
        process(proc.path(), 20, 10, 100);
        let forest = ProcReader::at(proc.path().into()).descendants_changed(1, &mut known);
        assert_eq!(pids(&forest), Vec::<u32>::new());
    }

    #[test]
    fn a_child_read_before_its_parent_vanished_mid_pass_is_found_once_re_parented() {
        let proc = tempfile::tempdir().unwrap();
        process(proc.path(), 1, 0, 1);
        process(proc.path(), 10, 1, 10);
        let mut known = KnownProcesses::default();
        ProcReader::at(proc.path().into()).descendants_changed(1, &mut known);
        // 11 is listed but exits before its stat is read; its child 12 was read first.
        fs::create_dir_all(proc.path().join("11")).unwrap();
        process(proc.path(), 12, 11, 12);
        let forest = ProcReader::at(proc.path().into()).descendants_changed(1, &mut known);
        assert_eq!(pids(&forest), [10]);
        // 11 is gone from the listing and 12 came back to 1.
        fs::remove_dir_all(proc.path().join("11")).unwrap();
        process(proc.path(), 12, 1, 12);
        let forest = ProcReader::at(proc.path().into()).descendants_changed(1, &mut known);
        assert_eq!(pids(&forest), [10, 12]);
    }

    #[test]
    fn every_stat_is_read_again_at_the_full_pass() {
        let proc = tempfile::tempdir().unwrap();
        process(proc.path(), 1, 0, 1);
        process(proc.path(), 10, 1, 10);
        let mut known = KnownProcesses::default();
        for _ in 0..FULL_PASS_EVERY {
            ProcReader::at(proc.path().into()).descendants_changed(1, &mut known);
        }
        let mut reader = ProcReader::at(proc.path().into());
        reader.descendants_changed(1, &mut known);
        assert_eq!(reader.reads, 1 + 2);
    }
}
