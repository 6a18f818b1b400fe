//! One cgroup v2 per run, where this process was delegated a cgroup v2 subtree, so a
//! forceful stop can also write `cgroup.kill` (which reaches every process of the run,
//! wherever it re-parented or whatever group it made). Optional: where there is no such
//! subtree (cgroup v1, the hierarchy's root, a cgroup owned by someone else, a kernel
//! before 5.14) runs get no cgroup and stops rely on process-group kills alone.
//!
//! Detected once per process ([`delegated_subtree`]). A run's agent is moved into its
//! cgroup right after it is spawned: a process it forks in that first instant stays in
//! this process's cgroup, and is still found by the sampler and killed by group.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use lulu_domain::RunId;

/// Why runs get no cgroup of their own in this process.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoDelegation {
    /// No cgroup v2 hierarchy holds this process (cgroup v1 only).
    #[error("no cgroup v2 hierarchy is mounted for this process")]
    NoUnifiedHierarchy,
    /// The cgroup has no `cgroup.kill`: the hierarchy's root, or a kernel before 5.14.
    #[error("{0} has no cgroup.kill (the hierarchy's root, or a kernel before 5.14)")]
    NoKillFile(PathBuf),
    /// This process may not create cgroups under its own or move processes into them.
    #[error("{path} is not delegated to this user: {message}")]
    NotWritable {
        /// The cgroup directory.
        path: PathBuf,
        /// What the OS said.
        message: String,
    },
}

/// This process's delegated cgroup v2 directory, detected on first use.
pub(crate) fn delegated_subtree() -> Result<&'static Path, &'static NoDelegation> {
    static DETECTED: OnceLock<Result<PathBuf, NoDelegation>> = OnceLock::new();
    let detected = DETECTED.get_or_init(|| {
        let found = read_proc("self/cgroup")
            .zip(read_proc("self/mountinfo"))
            .ok_or(NoDelegation::NoUnifiedHierarchy)
            .and_then(|(cgroup, mountinfo)| own_cgroup_dir(&cgroup, &mountinfo))
            .and_then(|dir| check_delegated(&dir).map(|()| dir));
        match &found {
            Ok(dir) => {
                tracing::info!(?dir, "one cgroup per run: forceful stops use cgroup.kill");
            }
            Err(reason) => {
                tracing::info!(%reason, "no cgroup per run: forceful stops kill process groups");
            }
        }
        found
    });
    detected.as_ref().map(PathBuf::as_path)
}

fn read_proc(name: &str) -> Option<String> {
    fs::read_to_string(Path::new("/proc").join(name)).ok()
}

/// Where this process's cgroup v2 lives, from `/proc/self/cgroup` and `/proc/self/mountinfo`.
fn own_cgroup_dir(cgroup: &str, mountinfo: &str) -> Result<PathBuf, NoDelegation> {
    let path = cgroup
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .ok_or(NoDelegation::NoUnifiedHierarchy)?;
    let (mount_root, mount_point) = mountinfo
        .lines()
        .find_map(|line| {
            let (mount, filesystem) = line.split_once(" - ")?;
            if filesystem.split_whitespace().next()? != "cgroup2" {
                return None;
            }
            let mut fields = mount.split_whitespace().skip(3);
            Some((fields.next()?, fields.next()?))
        })
        .ok_or(NoDelegation::NoUnifiedHierarchy)?;
    let relative = path.strip_prefix(mount_root).unwrap_or(path);
    Ok(Path::new(mount_point).join(relative.trim_start_matches('/')))
}

/// Whether `dir` is a cgroup this process may make run cgroups under: it has
/// `cgroup.kill`, its `cgroup.procs` is writable, and a sub-cgroup can be made and removed.
fn check_delegated(dir: &Path) -> Result<(), NoDelegation> {
    if !dir.join("cgroup.kill").exists() {
        return Err(NoDelegation::NoKillFile(dir.to_owned()));
    }
    let refused = |error: io::Error| NoDelegation::NotWritable {
        path: dir.to_owned(),
        message: error.to_string(),
    };
    fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.procs"))
        .map_err(refused)?;
    let probe = dir.join(format!("lulu-probe-{}", std::process::id()));
    fs::create_dir(&probe).map_err(refused)?;
    fs::remove_dir(&probe).map_err(refused)
}

/// A run's own cgroup, under this process's delegated one.
#[derive(Debug)]
pub(crate) struct RunCgroup {
    dir: PathBuf,
}

impl RunCgroup {
    /// Makes run `run_id`'s cgroup under `parent` and moves `pid` (its agent) into it.
    pub fn create(parent: &Path, run_id: RunId, pid: u32) -> io::Result<Self> {
        let dir = parent.join(format!("lulu-run-{run_id}"));
        fs::create_dir(&dir)?;
        let cgroup = Self { dir };
        if let Err(error) = fs::write(cgroup.dir.join("cgroup.procs"), pid.to_string()) {
            cgroup.remove();
            return Err(error);
        }
        Ok(cgroup)
    }

    /// Makes one for run `run_id`'s agent `pid` where a delegated subtree exists; `None`
    /// (stops then rely on process groups) otherwise or when the OS refuses.
    pub fn for_run(run_id: RunId, pid: u32) -> Option<Self> {
        let parent = delegated_subtree().ok()?;
        Self::create(parent, run_id, pid)
            .inspect_err(|error| tracing::warn!(%error, "could not give the run its own cgroup; its stop relies on process groups"))
            .ok()
    }

    /// SIGKILLs every process in the cgroup (`cgroup.kill`).
    pub fn kill(&self) -> io::Result<()> {
        fs::write(self.dir.join("cgroup.kill"), "1")
    }

    /// Removes the cgroup (only an empty one can go); true once it is gone.
    pub fn remove(&self) -> bool {
        match fs::remove_dir(&self.dir) {
            Ok(()) => true,
            Err(error) => error.kind() == io::ErrorKind::NotFound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_MOUNTS: &str = "\
25 1 0:23 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate
27 25 0:25 / /sys/fs/cgroup/memory rw,nosuid shared:11 - cgroup cgroup rw,memory
";
    const UNIFIED_MOUNTS: &str =
        "30 1 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";

    #[test]
    fn a_machine_with_cgroup_v1_only_offers_no_unified_hierarchy() {
        let cgroup = "4:memory:/user.slice\n1:name=systemd:/user.slice\n";
        let mounts = "27 25 0:25 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        assert_eq!(
            own_cgroup_dir(cgroup, mounts),
            Err(NoDelegation::NoUnifiedHierarchy)
        );
        assert_eq!(
            own_cgroup_dir("0::/\n", mounts),
            Err(NoDelegation::NoUnifiedHierarchy)
        );
    }

    #[test]
    fn the_own_cgroup_is_found_under_the_cgroup2_mount() {
        let cgroup = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/lulu.service\n";
        assert_eq!(
            own_cgroup_dir(cgroup, UNIFIED_MOUNTS),
            Ok(PathBuf::from(
                "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/lulu.service"
            ))
        );
        let hybrid_root = "4:memory:/x\n0::/\n";
        assert_eq!(
            own_cgroup_dir(hybrid_root, HYBRID_MOUNTS),
            Ok(PathBuf::from("/sys/fs/cgroup/unified/"))
        );
    }

    #[test]
    fn a_cgroup_without_cgroup_kill_is_not_used_and_one_with_it_and_writable_files_is() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            check_delegated(dir.path()),
            Err(NoDelegation::NoKillFile(dir.path().to_owned()))
        );
        fs::write(dir.path().join("cgroup.kill"), "").unwrap();
        assert!(matches!(
            check_delegated(dir.path()),
            Err(NoDelegation::NotWritable { .. })
        ));
        fs::write(dir.path().join("cgroup.procs"), "").unwrap();
        assert_eq!(check_delegated(dir.path()), Ok(()));
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "the probe cgroup was removed"
        );
    }

    #[test]
    fn where_this_process_sits_in_a_hierarchys_root_runs_fall_back_to_group_kills() {
        let cgroup = read_proc("self/cgroup").unwrap();
        let mounts = read_proc("self/mountinfo").unwrap();
        let in_a_root =
            own_cgroup_dir(&cgroup, &mounts).map_or(true, |dir| !dir.join("cgroup.kill").exists());
        if in_a_root {
            // This machine (cgroup v1, or the unified hierarchy's root): no cgroup per run.
            assert!(delegated_subtree().is_err());
            assert!(
                RunCgroup::for_run(RunId::from_uuid(uuid::Uuid::new_v4()), std::process::id())
                    .is_none()
            );
        } else {
            assert_eq!(
                delegated_subtree().is_ok(),
                own_cgroup_dir(&cgroup, &mounts)
                    .and_then(|dir| check_delegated(&dir))
                    .is_ok()
            );
        }
    }
}
