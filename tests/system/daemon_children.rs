//! What the daemon leaves among its own children: tools that orphan grandchildren (a
//! double fork, `setsid`, `nohup ... &`) in a hundred runs leave it no zombie and no stray
//! child; two clients of one daemon at once (a foreground run, and a follower plus an
//! interrupt from other processes) see the same outcome from the one daemon.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{reap_orphans, stat, wait_until, Sandbox, PATIENCE};

/// How many runs the orphan test starts.
const RUNS: usize = 100;
/// How many `lulu run --detach` commands start at once (a loaded 2-core machine).
const STARTERS_AT_ONCE: usize = 20;
/// How long a hundred runs may take to settle, sixteen at a time, on a loaded machine.
const SETTLE_PATIENCE: Duration = Duration::from_secs(120);

/// A tool that orphans four grandchildren, each outliving the tool (and its agent) by a
/// little: a double fork, a `setsid` one, a `nohup ... &` one, and a double fork that
/// drops its environment (so no run marker says whose it is once it is adopted). Their
/// output goes to `/dev/null`, so nothing holds the tool's pipes.
const ORPHANING_TOOL: &str = "BASH (sleep 0.6 >/dev/null 2>&1 &) ; \
     setsid sh -c 'sleep 0.8 >/dev/null 2>&1 &' ; \
     nohup sleep 0.4 >/dev/null 2>&1 & \
     (env -i sleep 0.5 >/dev/null 2>&1 &)";

/// The pid of the sandbox's one daemon, as `lulu daemon status --json` reports it.
fn daemon_pid(sandbox: &Sandbox) -> i32 {
    let status: Value = serde_json::from_str(&sandbox.ok(&["daemon", "status", "--json"]))
        .expect("daemon status --json is JSON");
    let pid = status["pid"].as_i64().expect("a serving daemon has a pid");
    i32::try_from(pid).expect("pids fit in i32")
}

/// The children of `parent`, from `/proc`.
fn children_of(parent: i32) -> Vec<i32> {
    crate::harness::all_pids()
        .into_iter()
        .filter(|pid| stat(*pid).is_some_and(|(ppid, _)| ppid == parent))
        .collect()
}

/// A process's name as the kernel keeps it (a zombie has no command line any more).
fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Each pid with its state, name and command line, one per line, for failure messages.
fn describe_with_state(pids: &[i32]) -> String {
    pids.iter()
        .map(|pid| {
            let state = stat(*pid).map_or('?', |(_, state)| state);
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            format!(
                "  pid {pid} state {state} comm {:?} cmdline {:?}",
                comm(*pid),
                cmdline.trim()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// How many of the sandbox's sessions are in each status.
fn statuses(sandbox: &Sandbox) -> Vec<String> {
    let listed: Value = serde_json::from_str(&sandbox.ok(&["list", "--limit", "1000", "--json"]))
        .expect("list --json is JSON");
    listed
        .as_array()
        .expect("a list")
        .iter()
        .map(|session| session["status"].as_str().unwrap_or("?").to_owned())
        .collect()
}

#[test]
fn a_hundred_runs_whose_tools_orphan_grandchildren_leave_the_daemon_no_zombie_and_no_stray_child() {
    let sandbox = Sandbox::new().env("LULU_MAX_RUNNING", "16");
    let prompts: Vec<String> = (0..RUNS)
        .map(|n| format!("{ORPHANING_TOOL} #{n}"))
        .collect();
    // Whether the daemon adopts the orphans at all (else this test would prove nothing),
    // watched from before the first run starts.
    let adopted = Census::of_adopted_sleeps(&sandbox);
    let mut ids = Vec::with_capacity(RUNS);
    for batch in prompts.chunks(STARTERS_AT_ONCE) {
        ids.extend(sandbox.detach_all(batch.iter().cloned()));
    }
    let daemon = daemon_pid(&sandbox);

    let began = Instant::now();
    loop {
        let statuses = statuses(&sandbox);
        if statuses.len() == ids.len() && statuses.iter().all(|status| status == "completed") {
            break;
        }
        assert!(
            began.elapsed() < SETTLE_PATIENCE,
            "not every run completed within {SETTLE_PATIENCE:?}: {statuses:?}\ndaemon log (tail):\n{}",
            sandbox.owners_log_tail()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let adopted = adopted.finish();
    assert!(
        !adopted.is_empty(),
        "the daemon {daemon} was never seen adopting an orphaned `sleep`: the tools' \
         grandchildren went elsewhere"
    );

    // Every session settled, so no agent is live: any child of the daemon is a stray, and
    // the orphans (all short-lived) must be gone and reaped within the deadline.
    let began = Instant::now();
    loop {
        let strays = children_of(daemon);
        if strays.is_empty() {
            break;
        }
        assert!(
            began.elapsed() < PATIENCE,
            "{} child(ren) of the daemon {daemon} are left {PATIENCE:?} after all {RUNS} runs \
             completed (zombies are state Z; no agent should be live):\n{}\ndaemon log (tail):\n{}",
            strays.len(),
            describe_with_state(&strays),
            sandbox.owners_log_tail()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(daemon_pid(&sandbox), daemon, "one daemon served every run");
    sandbox.assert_nothing_left();
}

/// Samples pids on a thread of its own, every few milliseconds, until finished: whatever
/// the test does meanwhile (and however slowly, on a loaded machine) is watched throughout.
struct Census {
    seen: Arc<Mutex<BTreeSet<i32>>>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Census {
    /// Starts noting every pid `sample` returns.
    fn start(sample: impl Fn() -> Vec<i32> + Send + 'static) -> Self {
        let seen = Arc::new(Mutex::new(BTreeSet::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let pids = sample();
                    seen.lock().unwrap().extend(pids);
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        };
        Self { seen, stop, thread }
    }

    /// Every daemon of the sandbox seen alive.
    fn of_daemons(sandbox: &Sandbox) -> Self {
        let marker = format!("LULU_DB={}", sandbox.db.display());
        Self::start(move || daemons_with_env(&marker))
    }

    /// Every `sleep` seen as a child of a daemon of the sandbox: an orphan it adopted.
    fn of_adopted_sleeps(sandbox: &Sandbox) -> Self {
        let marker = format!("LULU_DB={}", sandbox.db.display());
        Self::start(move || {
            daemons_with_env(&marker)
                .into_iter()
                .flat_map(children_of)
                .filter(|pid| comm(*pid) == "sleep")
                .collect()
        })
    }

    /// Stops sampling; returns every pid seen.
    fn finish(self) -> BTreeSet<i32> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the census thread");
        let seen = self.seen.lock().unwrap();
        seen.clone()
    }
}

/// The living daemons among the processes with `marker` (`LULU_DB=...`) in their environment.
/// A daemon's child caught between fork and exec (an agent starting) still reads as the
/// daemon's command line: it is not a daemon of its own.
fn daemons_with_env(marker: &str) -> Vec<i32> {
    let daemons: Vec<i32> = crate::harness::processes_with_env(marker)
        .into_iter()
        .filter(|pid| crate::harness::is_daemon(*pid))
        .collect();
    daemons
        .iter()
        .copied()
        .filter(|pid| {
            !crate::harness::parent_of(*pid).is_some_and(|parent| daemons.contains(&parent))
        })
        .collect()
}

/// The lines a child printed so far, read on a thread of their own.
struct LinesSoFar {
    lines: Arc<Mutex<String>>,
    thread: std::thread::JoinHandle<()>,
}

impl LinesSoFar {
    fn read(pipe: impl std::io::Read + Send + 'static) -> Self {
        let lines = Arc::new(Mutex::new(String::new()));
        let thread = {
            let lines = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut lines = lines.lock().unwrap();
                    lines.push_str(&line);
                    lines.push('\n');
                }
            })
        };
        Self { lines, thread }
    }

    /// Whether some line printed so far is `line`.
    fn contains(&self, line: &str) -> bool {
        self.lines
            .lock()
            .unwrap()
            .lines()
            .any(|printed| printed == line)
    }

    /// Waits for the end of the output; returns all of it.
    fn finish(self) -> String {
        self.thread.join().expect("the reader thread");
        let lines = self.lines.lock().unwrap();
        lines.clone()
    }
}

/// The tick numbers in a text transcript (`tick N.` lines), in the order printed.
fn ticks(text: &str) -> Vec<u32> {
    text.lines()
        .filter_map(|line| line.strip_prefix("tick "))
        .map(|rest| {
            rest.trim_end_matches('.')
                .parse()
                .unwrap_or_else(|_| panic!("a tick number in {rest:?}"))
        })
        .collect()
}

#[test]
fn a_foreground_run_a_follower_and_an_interrupt_from_other_processes_share_one_daemon_and_one_outcome(
) {
    let sandbox = Sandbox::new();
    let census = Census::of_daemons(&sandbox);
    let foreground = sandbox.spawn(&["run", "SLOW 600"]);
    let id = sandbox.wait_for_newest_session();
    sandbox.wait_for_agent(&id);
    let mut follower = sandbox.spawn(&["logs", "--follow", &id]);
    let followed_lines = LinesSoFar::read(follower.stdout.take().expect("piped stdout"));
    // Interrupt only once the follower is tailing the live run.
    wait_until("the follower prints a few ticks", || {
        followed_lines.contains("tick 3.")
    });

    let interrupted = sandbox.ok(&["interrupt", &id]);
    let foreground = sandbox.finish(foreground);
    let followed = sandbox.finish(follower);
    let followed_text = followed_lines.finish();
    let daemons = census.finish();

    assert!(interrupted.starts_with("interrupted"), "{interrupted}");
    assert_eq!(
        foreground.status.code(),
        Some(130),
        "the foreground client sees the interrupt: {foreground:?}"
    );
    assert!(followed.status.success(), "{followed:?}");
    assert_eq!(sandbox.show(&id)["status"], "interrupted");
    let foreground_text = String::from_utf8_lossy(&foreground.stdout);
    let followed_ticks = ticks(&followed_text);
    let count = u32::try_from(followed_ticks.len()).expect("a few ticks");
    assert!(count >= 3, "{followed_text}");
    assert_eq!(
        followed_ticks,
        (1..=count).collect::<Vec<_>>(),
        "the follower has every line once, in order:\n{followed_text}"
    );
    // The foreground client prints the id first and a summary last; the follower a run
    // header and the run's prompt first. Between them, both show the same lines.
    let foreground_lines: Vec<&str> = foreground_text.lines().collect();
    // The follower shows the turn's result line too; the foreground only its summary.
    let followed_lines: Vec<&str> = followed_text
        .lines()
        .filter(|line| !line.starts_with("✗ interrupted"))
        .collect();
    assert!(
        foreground_lines
            .last()
            .is_some_and(|line| line.starts_with("interrupted")),
        "{foreground_text}"
    );
    assert!(
        followed_lines
            .last()
            .is_some_and(|line| line.contains("interrupted")),
        "the follower sees the interrupt:\n{followed_text}"
    );
    assert_eq!(followed_lines[1], "» SLOW 600", "{followed_text}");
    assert_eq!(
        foreground_lines[1..foreground_lines.len() - 1],
        followed_lines[2..],
        "both clients saw the same transcript:\nforeground:\n{foreground_text}\nfollower:\n{followed_text}"
    );
    let stored = sandbox.ok(&["logs", &id]);
    assert_eq!(ticks(&stored), followed_ticks, "{stored}");
    assert_eq!(
        daemons.len(),
        1,
        "exactly one daemon process existed throughout: {daemons:?}"
    );
    assert_eq!(daemons.first().copied(), Some(daemon_pid(&sandbox)));
    reap_orphans();
    sandbox.assert_nothing_left();
}
