//! The sampler against real process trees: attribution across runs, unregistering, churn.

use std::collections::BTreeSet;
use std::process::{Child, Command};
use std::sync::Once;
use std::time::{Duration, Instant};

use lulu_domain::ports::{AgentLauncher, RunSpec};
use lulu_domain::{
    AgentOptions, ConversationMode, ProcessRecord, Prompt, RunId, RunUpdate, SessionId, WorkingDir,
};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

use super::*;
use crate::kill::kill_recorded_groups;
use crate::tree::{group_leader_record, processes_with_env, read_stat, still_running};

const DEADLINE: Duration = Duration::from_secs(20);
const TICK: Duration = Duration::from_millis(20);

/// Orphans of these tests come back to the test process, as they do to a daemon.
fn become_subreaper() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| crate::kill::become_child_subreaper().expect("prctl works on Linux"));
}

fn new_run_id() -> RunId {
    RunId::from_uuid(uuid::Uuid::new_v4())
}

/// A run's agent stand-in, in a group of its own and carrying the run marker: `script`
/// under `sh`. Dropping it kills every process carrying its marker, on failure too.
struct FakeRun {
    run_id: RunId,
    child: Child,
    root: ProcessRecord,
}

impl FakeRun {
    fn start(script: &str) -> Self {
        let run_id = new_run_id();
        let child = std::os::unix::process::CommandExt::process_group(
            Command::new("sh")
                .args(["-c", script])
                .env(RUN_ENV, run_id.to_string()),
            0,
        )
        .spawn()
        .expect("sh runs");
        let root = group_leader_record(child.id());
        Self {
            run_id,
            child,
            root,
        }
    }

    /// Every living process carrying this run's marker but the root.
    fn marked(&self) -> Vec<ProcStat> {
        processes_with_env(&format!("{RUN_ENV}={}", self.run_id))
            .into_iter()
            .filter(|stat| stat.pid != self.root.pid && !stat.is_zombie())
            .collect()
    }

    /// Waits until `count` `sleep`s of this run are running, and returns their pids.
    fn until_sleeping(&self, count: usize) -> BTreeSet<u32> {
        let began = Instant::now();
        loop {
            let found: BTreeSet<u32> = self
                .marked()
                .iter()
                .map(|stat| stat.pid)
                .filter(|pid| {
                    std::fs::read(format!("/proc/{pid}/cmdline"))
                        .is_ok_and(|cmdline| cmdline.starts_with(b"sleep\0"))
                })
                .collect();
            if found.len() == count {
                return found;
            }
            assert!(
                began.elapsed() < DEADLINE,
                "the tree never formed: {found:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for FakeRun {
    fn drop(&mut self) {
        let left: Vec<ProcessRecord> = self.marked().iter().map(ProcStat::record).collect();
        let mut everything = vec![self.root];
        everything.extend(&left);
        kill_recorded_groups(&everything);
        let _ = self.child.wait();
        for record in &left {
            reap_when_adopted(record);
        }
    }
}

/// Reaps `record`'s process once it is a dead child of this process, or returns when it
/// is gone or belongs to someone else for good.
fn reap_when_adopted(record: &ProcessRecord) {
    let me = std::process::id();
    let began = Instant::now();
    while let Some(stat) = still_running(record) {
        if stat.ppid == me && stat.is_zombie() {
            let pid = Pid::from_raw(i32::try_from(record.pid).expect("a pid fits"));
            let _ = waitpid(pid, Some(WaitPidFlag::WNOHANG));
        } else if stat.ppid != me && began.elapsed() > Duration::from_secs(2) {
            return;
        }
        if began.elapsed() > DEADLINE {
            return; // Never panic in a drop; the leak shows in the next test's checks.
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn pids(records: &[ProcessRecord]) -> BTreeSet<u32> {
    records.iter().map(|record| record.pid).collect()
}

/// Waits until `tracking` records exactly `expected`, failing with what it saw.
fn until_recorded(tracking: &RunTracking, expected: &BTreeSet<u32>, what: &str) {
    let began = Instant::now();
    loop {
        let recorded = pids(&tracking.records());
        if &recorded == expected {
            return;
        }
        assert!(
            began.elapsed() < DEADLINE,
            "{what}: recorded {recorded:?}, expected {expected:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn one_sampler_attributes_setsid_and_double_forked_descendants_to_their_own_run() {
    become_subreaper();
    let me = std::process::id();
    for mode in [
        WalkMode::detect(),
        WalkMode::FullScan,
        WalkMode::ChangedOnly,
    ] {
        let sampler = TreeSampler::new(mode);
        let script = "setsid sleep 600 & (sleep 600 &); sleep 600; wait";
        let runs: Vec<FakeRun> = (0..4).map(|_| FakeRun::start(script)).collect();
        let tracked: Vec<RunTracking> = runs
            .iter()
            .map(|run| sampler.register(run.run_id, run.root, TICK))
            .collect();
        for (run, tracking) in runs.iter().zip(&tracked) {
            let expected = run.until_sleeping(3);
            let stats: Vec<ProcStat> = expected.iter().filter_map(|pid| read_stat(*pid)).collect();
            let adopted = stats.iter().filter(|stat| stat.ppid == me).count();
            assert_eq!(
                adopted, 1,
                "the double-forked sleep came back here: {stats:?}"
            );
            let leaders = stats.iter().filter(|stat| stat.pgid == stat.pid).count();
            assert_eq!(
                leaders, 1,
                "one sleep left the group with setsid: {stats:?}"
            );
            until_recorded(
                tracking,
                &expected,
                &format!("{mode:?}, run {}", run.run_id),
            );
        }
    }
}

#[test]
fn an_orphan_whose_environment_reads_empty_mid_exec_is_looked_at_again() {
    let proc = tempfile::tempdir().unwrap();
    let dir = proc.path().join("42");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("environ"), b"").unwrap();
    let mut reader = ProcReader::at(proc.path().into());
    let first = Marker::look_up(None, 42, &mut reader);
    assert_eq!(first, Marker::Missing(1));
    std::fs::write(dir.join("environ"), format!("A=1\0{RUN_ENV}=run-7\0")).unwrap();
    let found = Marker::look_up(Some(first), 42, &mut reader);
    assert_eq!(found, Marker::Found("run-7".to_owned()));

    let settled = Marker::Missing(MARKER_READS);
    let reads = reader.reads;
    assert_eq!(
        Marker::look_up(Some(settled.clone()), 42, &mut reader),
        settled
    );
    assert_eq!(reader.reads, reads, "a settled miss is not read again");
}

#[test]
fn a_run_whose_tracking_is_dropped_is_no_longer_sampled() {
    let sampler = TreeSampler::new(WalkMode::ChangedOnly);
    let run = FakeRun::start("sleep 600 & wait");
    let tracking = sampler.register(run.run_id, run.root, TICK);
    until_recorded(&tracking, &run.until_sleeping(1), "the sleep");
    assert!(sampler.is_tracking(run.run_id));
    drop(tracking);
    assert!(!sampler.is_tracking(run.run_id));
}

#[test]
fn the_sampler_keeps_attributing_while_processes_vanish_mid_walk() {
    become_subreaper();
    let sampler = TreeSampler::new(WalkMode::ChangedOnly);
    let steady = FakeRun::start("sleep 600 & wait");
    // Forks and reaps a short-lived child all the time: processes vanish mid-walk.
    let churning = FakeRun::start("while :; do /bin/true; done");
    let steady_tracking = sampler.register(steady.run_id, steady.root, TICK);
    let churning_tracking = sampler.register(churning.run_id, churning.root, TICK);
    let expected = steady.until_sleeping(1);
    for _ in 0..200 {
        sampler.sample_now();
    }
    until_recorded(&steady_tracking, &expected, "the steady run");
    assert!(
        churning_tracking
            .records()
            .iter()
            .all(|record| !expected.contains(&record.pid)),
        "nothing of the steady run went to the churning one"
    );
}

#[tokio::test]
async fn a_run_that_exits_unregisters_from_the_shared_sampler() {
    let launcher = crate::CliLauncher::new(crate::CliLauncherConfig::with_binary("true"));
    let cwd = WorkingDir::parse(std::env::temp_dir().to_string_lossy().into_owned()).unwrap();
    let spec = RunSpec {
        session_id: SessionId::from_uuid(uuid::Uuid::new_v4()),
        run_id: new_run_id(),
        cwd,
        prompt: Prompt::parse("hello").unwrap(),
        options: AgentOptions::default(),
        mode: ConversationMode::New,
    };
    let run_id = spec.run_id;
    let mut handle = launcher.launch(spec).await.expect("`true` starts");
    assert!(TreeSampler::shared().is_tracking(run_id) || exited_already(&mut handle));
    let exit = tokio::time::timeout(DEADLINE, async {
        loop {
            match handle.updates.recv().await {
                Some(RunUpdate::Exited(exit)) => break exit,
                Some(RunUpdate::Event(_) | RunUpdate::TextDelta(_)) => {}
                None => panic!("the run ended without an exit"),
            }
        }
    })
    .await
    .expect("the run exits");
    assert_eq!(exit.exit_code, Some(0));
    let began = Instant::now();
    while TreeSampler::shared().is_tracking(run_id) {
        assert!(began.elapsed() < DEADLINE, "the run stayed registered");
        tokio::task::yield_now().await;
    }
}

/// Whether the run already sent its exit (it may beat the first check).
fn exited_already(handle: &mut lulu_domain::ports::RunHandle) -> bool {
    !handle.updates.is_empty()
}
