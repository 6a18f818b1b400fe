//! One pass over `/proc`: every descendant of this process, with its parent links.
//!
//! Two ways to find them, chosen once per sampler ([`WalkMode::detect`]): walking down
//! from this process through `/proc/<pid>/task/<tid>/children` (the kernel lists each
//! thread's children; `CONFIG_PROC_CHILDREN`), which reads only the tree itself, or one
//! scan of every `/proc/<pid>/stat` that builds the parent map at once. Either way a
//! process that vanishes mid-walk is simply skipped: every read may fail.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::tree::{parse_stat, ProcStat};

/// How a pass finds this process's descendants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkMode {
    /// Down from this process through each thread's `children` file.
    ChildrenFiles,
    /// One scan of every process's `stat`, parents mapped in one go.
    FullScan,
    /// One listing of `/proc` per pass, `stat` read only for what changed since the last
    /// pass (and all of them every few passes): what the shared sampler uses. Without a
    /// last pass to go from, the same as [`WalkMode::FullScan`].
    ChangedOnly,
}

impl WalkMode {
    /// [`WalkMode::ChildrenFiles`] where this kernel lists a thread's children, else
    /// [`WalkMode::FullScan`]. Reads one file, once per process.
    pub fn detect() -> Self {
        static DETECTED: OnceLock<WalkMode> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            let me = std::process::id();
            let listed = fs::read_to_string(format!("/proc/{me}/task/{me}/children")).is_ok();
            if listed {
                Self::ChildrenFiles
            } else {
                Self::FullScan
            }
        })
    }
}

/// The descendants of one process, as one pass found them.
#[derive(Debug, Default)]
pub(crate) struct Forest {
    /// Every descendant found, by pid.
    pub stats: HashMap<u32, ProcStat>,
    /// Each found process's children (only parents that have some).
    pub children: HashMap<u32, Vec<u32>>,
    /// The walked process's own children.
    pub top: Vec<u32>,
}

/// Reads files under a `/proc` directory, counting how many it opened.
pub(crate) struct ProcReader {
    base: PathBuf,
    /// Files and directories opened so far.
    pub reads: u64,
}

impl ProcReader {
    /// A reader of the real `/proc`.
    pub fn system() -> Self {
        Self::at(PathBuf::from("/proc"))
    }

    /// A reader of a `/proc`-shaped directory (tests).
    pub fn at(base: PathBuf) -> Self {
        Self { base, reads: 0 }
    }

    fn text(&mut self, relative: &str) -> Option<String> {
        self.reads += 1;
        fs::read_to_string(self.base.join(relative)).ok()
    }

    pub(crate) fn names(&mut self, relative: &str) -> Vec<u32> {
        self.reads += 1;
        let Ok(entries) = fs::read_dir(self.base.join(relative)) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
            .collect()
    }

    pub(crate) fn stat(&mut self, pid: u32) -> Option<ProcStat> {
        parse_stat(pid, &self.text(&format!("{pid}/stat"))?)
    }

    /// The children of every thread of `pid` (empty once it is gone).
    fn children_of(&mut self, pid: u32) -> Vec<u32> {
        let tids = self.names(&format!("{pid}/task"));
        self.children_of_threads(pid, tids)
    }

    /// The children of `pid`'s threads `tids`.
    fn children_of_threads(&mut self, pid: u32, tids: Vec<u32>) -> Vec<u32> {
        let mut children = Vec::new();
        for tid in tids {
            if let Some(text) = self.text(&format!("{pid}/task/{tid}/children")) {
                children.extend(
                    text.split_whitespace()
                        .filter_map(|pid| pid.parse::<u32>().ok()),
                );
            }
        }
        children
    }

    /// The value of `name` in `pid`'s environment, if it has one.
    pub fn environ_value(&mut self, pid: u32, name: &str) -> Option<String> {
        self.reads += 1;
        let environ = fs::read(self.base.join(format!("{pid}/environ"))).ok()?;
        environ.split(|byte| *byte == 0).find_map(|pair| {
            let value = pair.strip_prefix(name.as_bytes())?.strip_prefix(b"=")?;
            String::from_utf8(value.to_vec()).ok()
        })
    }

    /// One pass: every descendant of `root`, found the way `mode` says.
    pub fn descendants_of(&mut self, root: u32, mode: WalkMode) -> Forest {
        match mode {
            WalkMode::ChildrenFiles => self.walk_down(root),
            WalkMode::FullScan | WalkMode::ChangedOnly => self.scan(root),
        }
    }

    /// `root`'s own children, found the way `mode` says.
    pub fn children_by(&mut self, root: u32, mode: WalkMode) -> Vec<u32> {
        match mode {
            WalkMode::ChildrenFiles => self.children_of(root),
            WalkMode::FullScan | WalkMode::ChangedOnly => self.scan(root).top,
        }
    }

    fn walk_down(&mut self, root: u32) -> Forest {
        let mut forest = Forest {
            top: self.children_of(root),
            ..Forest::default()
        };
        let mut queue = forest.top.clone();
        while let Some(pid) = queue.pop() {
            if forest.stats.contains_key(&pid) {
                continue;
            }
            let Some(stat) = self.stat(pid) else {
                continue; // Gone since its parent listed it.
            };
            forest.stats.insert(pid, stat);
            if stat.is_zombie() {
                continue; // Dead: its children were handed on already.
            }
            // A single-threaded process's only thread is itself: no need to list them.
            let children = if stat.threads == 1 {
                self.children_of_threads(pid, vec![pid])
            } else {
                self.children_of(pid)
            };
            if !children.is_empty() {
                queue.extend(&children);
                forest.children.insert(pid, children);
            }
        }
        forest.top.retain(|pid| forest.stats.contains_key(pid));
        forest
    }

    fn scan(&mut self, root: u32) -> Forest {
        let stats: Vec<ProcStat> = self
            .names("")
            .into_iter()
            .filter_map(|pid| self.stat(pid))
            .collect();
        forest_from(root, stats)
    }
}

/// The descendants of `root` among `stats` (every process of the system), through their
/// parent links.
pub(crate) fn forest_from(root: u32, stats: impl IntoIterator<Item = ProcStat>) -> Forest {
    let mut by_parent: HashMap<u32, Vec<ProcStat>> = HashMap::new();
    for stat in stats {
        by_parent.entry(stat.ppid).or_default().push(stat);
    }
    let mut forest = Forest::default();
    let mut queue = vec![root];
    while let Some(parent) = queue.pop() {
        let Some(children) = by_parent.remove(&parent) else {
            continue;
        };
        let pids: Vec<u32> = children.iter().map(|stat| stat.pid).collect();
        for stat in children {
            if forest.stats.insert(stat.pid, stat).is_none() {
                queue.push(stat.pid);
            }
        }
        if parent == root {
            forest.top = pids;
        } else {
            forest.children.insert(parent, pids);
        }
    }
    forest
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// A fake `/proc` entry: a stat line and, per thread, a children list.
    fn process(proc: &Path, pid: u32, ppid: u32, children: &[&str]) {
        let dir = proc.join(pid.to_string());
        fs::create_dir_all(dir.join("task")).unwrap();
        let threads = children.len();
        let stat = format!(
            "{pid} (sh) S {ppid} {pid} {pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 {threads} 0 {pid}00 0 0"
        );
        fs::write(dir.join("stat"), stat).unwrap();
        for (index, list) in children.iter().enumerate() {
            let tid = if index == 0 {
                pid
            } else {
                pid * 100 + u32::try_from(index).unwrap()
            };
            fs::create_dir_all(dir.join(format!("task/{tid}"))).unwrap();
            fs::write(dir.join(format!("task/{tid}/children")), list).unwrap();
        }
    }

    /// `1` has child `10` (threads list `11` and a vanished `99`); `11` has `12`.
    fn fake_proc() -> tempfile::TempDir {
        let proc = tempfile::tempdir().unwrap();
        process(proc.path(), 1, 0, &["10 ", "99 11 "]);
        process(proc.path(), 10, 1, &[""]);
        process(proc.path(), 11, 1, &["12 "]);
        process(proc.path(), 12, 11, &[""]);
        process(proc.path(), 50, 0, &[""]);
        proc
    }

    fn pids(forest: &Forest) -> Vec<u32> {
        let mut pids: Vec<u32> = forest.stats.keys().copied().collect();
        pids.sort_unstable();
        pids
    }

    #[test]
    fn both_modes_find_the_same_descendants_and_skip_a_process_that_vanished_mid_walk() {
        let proc = fake_proc();
        for mode in [WalkMode::ChildrenFiles, WalkMode::FullScan] {
            let forest = ProcReader::at(proc.path().into()).descendants_of(1, mode);
            assert_eq!(pids(&forest), [10, 11, 12], "{mode:?}");
            let mut top = forest.top.clone();
            top.sort_unstable();
            assert_eq!(top, [10, 11], "{mode:?}");
            assert_eq!(forest.children.get(&11), Some(&vec![12]), "{mode:?}");
        }
    }

    #[test]
    fn walking_down_reads_only_the_tree_and_scanning_reads_every_process() {
        let proc = fake_proc();
        let mut down = ProcReader::at(proc.path().into());
        down.descendants_of(1, WalkMode::ChildrenFiles);
        let mut scan = ProcReader::at(proc.path().into());
        scan.descendants_of(1, WalkMode::FullScan);
        // Down: 1's task dir + 2 lists; per found (single-threaded) process a stat and
        // its one list; plus the failed stat of the vanished 99.
        assert_eq!(down.reads, 3 + 3 * 2 + 1);
        // Scan: the /proc listing, then all five stats.
        assert_eq!(scan.reads, 1 + 5);
    }

    #[test]
    fn this_process_finds_its_own_child_in_both_modes() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let me = std::process::id();
        let mut found = Vec::new();
        for mode in [WalkMode::detect(), WalkMode::FullScan] {
            let forest = ProcReader::system().descendants_of(me, mode);
            found.push(forest.top.contains(&child.id()));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(found, [true, true]);
    }
}
