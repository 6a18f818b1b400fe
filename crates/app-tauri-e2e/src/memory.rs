//! How much memory the app and its web-view processes hold, from `/proc`.

/// Memory of the app and its web-view processes (its `WebKit*` descendants).
#[derive(Debug, Clone)]
pub struct TreeMemory {
    /// Each process's name, RSS, PSS and USS in MB.
    pub each: Vec<(String, f64, f64, f64)>,
    /// Processes counted.
    pub processes: usize,
    /// Sum of resident set sizes (shared pages counted in each process), MB.
    pub rss_mb: f64,
    /// Sum of proportional set sizes (shared pages split between sharers), MB.
    pub pss_mb: f64,
    /// Sum of unique set sizes (pages no other process maps: what closing the app
    /// frees), MB. Steadier than PSS on a machine where other programs map the same
    /// libraries.
    pub uss_mb: f64,
}

impl std::fmt::Display for TreeMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RSS {:.1} MB, PSS {:.1} MB, USS {:.1} MB over {} processes (",
            self.rss_mb, self.pss_mb, self.uss_mb, self.processes
        )?;
        for (index, (name, rss, pss, uss)) in self.each.iter().enumerate() {
            let separator = if index == 0 { "" } else { ", " };
            write!(
                f,
                "{separator}{name} RSS {rss:.1} PSS {pss:.1} USS {uss:.1}"
            )?;
        }
        write!(f, ")")
    }
}

/// The memory of `root` and the `WebKit*` processes descended from it, from `/proc`.
///
/// # Errors
/// `/proc` cannot be read.
pub fn process_tree_memory(root: i32) -> anyhow::Result<TreeMemory> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // The fields after the parenthesised name: state, ppid, ...
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|ppid| ppid.parse::<i32>().ok());
        if let Some(ppid) = ppid {
            parents.push((pid, ppid));
        }
    }
    let mut tree = vec![root];
    let mut index = 0;
    while index < tree.len() {
        let parent = tree[index];
        tree.extend(
            parents
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        index += 1;
    }
    // The daemon the app started (and its agents) is not the app: `lulu` shares it.
    let comm = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    tree.retain(|pid| *pid == root || comm(*pid).starts_with("WebKit"));
    let kib = |text: &str, key: &str| -> f64 {
        text.lines()
            .find(|line| line.starts_with(key))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let mut memory = TreeMemory {
        each: Vec::new(),
        processes: 0,
        rss_mb: 0.0,
        pss_mb: 0.0,
        uss_mb: 0.0,
    };
    for pid in tree {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rollup =
            std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        let rss = kib(&status, "VmRSS:") / 1024.0;
        let pss = kib(&rollup, "Pss:") / 1024.0;
        let uss = (kib(&rollup, "Private_Clean:") + kib(&rollup, "Private_Dirty:")) / 1024.0;
        memory.each.push((comm(pid), rss, pss, uss));
        memory.processes += 1;
        memory.rss_mb += rss;
        memory.pss_mb += pss;
        memory.uss_mb += uss;
    }
    Ok(memory)
}
