//! [`TreeSampler`]: one sampler of process trees for every run of this process.
//!
//! Runs register their agent ([`TreeSampler::register`]) and get a [`RunTracking`] that
//! yields their recorded descendants. A dedicated thread (never an async worker) makes one
//! pass per tick for all runs together: it finds this process's descendants ([`WalkMode`];
//! the shared sampler reads only what changed since its last pass) and attributes each process it finds to a run: an agent is its run's
//! root; a process seen under a run before stays that run's when it is re-parented here (this
//! process is a child subreaper); an adopted orphan never seen before is placed by its
//! [`RUN_ENV`] marker; everything else inherits its parent's run. A recorded process is
//! kept until it is gone, even once it left the tree.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use lulu_domain::{ProcessRecord, RunId};
use tokio::sync::watch;

use crate::changed::KnownProcesses;
use crate::owner::RUN_ENV;
use crate::tree::{still_running, ProcStat};
use crate::walk::{Forest, ProcReader, WalkMode};

/// How often an idle sampler (no run registered) checks whether it is still wanted.
const IDLE_RECHECK: Duration = Duration::from_secs(5);

/// How many passes an adopted orphan's environment is read before its lack of a run
/// marker is believed: while a process is in the middle of `execve` its environment reads
/// empty, so one empty read proves nothing.
const MARKER_READS: u8 = 8;

/// A process's identity: pid and start time.
type Identity = (u32, u64);

/// Samples the process trees of every registered run, one pass per tick.
#[derive(Clone)]
pub struct TreeSampler {
    inner: Arc<Inner>,
}

/// A run's registration with the sampler; dropping it unregisters the run.
pub struct RunTracking {
    inner: Arc<Inner>,
    key: u64,
    records: watch::Receiver<Vec<ProcessRecord>>,
}

struct Inner {
    mode: WalkMode,
    state: Mutex<State>,
    wake: Condvar,
    /// What passes remember from one to the next; held for a whole pass.
    memory: Mutex<Memory>,
}

#[derive(Default)]
struct State {
    runs: HashMap<u64, Tracked>,
    next_key: u64,
    /// A pass is wanted now, before the next tick.
    woken: bool,
}

struct Tracked {
    run_id: RunId,
    root: ProcessRecord,
    interval: Duration,
    /// Its descendants recorded so far (the root excluded), oldest first.
    recorded: Vec<ProcessRecord>,
    updates: watch::Sender<Vec<ProcessRecord>>,
}

#[derive(Default)]
struct Memory {
    /// Which registration each process belonged to at the last pass.
    attributed: HashMap<Identity, u64>,
    /// The run marker of each adopted orphan already looked at.
    markers: HashMap<Identity, Marker>,
    /// What a [`WalkMode::ChangedOnly`] pass read before.
    known: KnownProcesses,
}

impl TreeSampler {
    /// The sampler shared by every launcher of this process, started on first use.
    pub fn shared() -> &'static TreeSampler {
        static SHARED: OnceLock<TreeSampler> = OnceLock::new();
        SHARED.get_or_init(|| TreeSampler::new(WalkMode::ChangedOnly))
    }

    /// A sampler of its own, walking as `mode` says, with its thread; the thread ends once
    /// the sampler and every registration are dropped.
    pub fn new(mode: WalkMode) -> Self {
        let inner = Arc::new(Inner {
            mode,
            state: Mutex::default(),
            wake: Condvar::new(),
            memory: Mutex::default(),
        });
        let weak = Arc::downgrade(&inner);
        let spawned = std::thread::Builder::new()
            .name("lulu-tree-sampler".to_owned())
            .spawn(move || keep_sampling(&weak));
        if let Err(error) = spawned {
            tracing::error!(%error, "could not start the process tree sampler; runs' descendants are recorded only when they stop");
        }
        Self { inner }
    }

    /// How this sampler walks `/proc`.
    pub fn mode(&self) -> WalkMode {
        self.inner.mode
    }

    /// Starts tracking the descendants of `root` (run `run_id`'s agent, a child of this
    /// process), sampled at least every `interval`. A first pass follows at once.
    pub fn register(&self, run_id: RunId, root: ProcessRecord, interval: Duration) -> RunTracking {
        let (updates, records) = watch::channel(Vec::new());
        let mut state = self.inner.lock_state();
        let key = state.next_key;
        state.next_key += 1;
        state.runs.insert(
            key,
            Tracked {
                run_id,
                root,
                interval,
                recorded: Vec::new(),
                updates,
            },
        );
        state.woken = true;
        drop(state);
        self.inner.wake.notify_all();
        RunTracking {
            inner: Arc::clone(&self.inner),
            key,
            records,
        }
    }

    /// Makes one pass for every registered run now, on the caller's thread.
    pub fn sample_now(&self) {
        self.inner.pass();
    }

    /// Whether run `run_id` is registered.
    pub fn is_tracking(&self, run_id: RunId) -> bool {
        let state = self.inner.lock_state();
        state.runs.values().any(|tracked| tracked.run_id == run_id)
    }
}

impl RunTracking {
    /// The run's descendants recorded so far that may still be running (the agent excluded).
    pub fn records(&self) -> Vec<ProcessRecord> {
        self.records.borrow().clone()
    }

    /// Waits until the recorded descendants change.
    pub async fn changed(&mut self) {
        if self.records.changed().await.is_err() {
            // The sender lives as long as this registration: never reached.
            std::future::pending::<()>().await;
        }
    }

    /// Records processes found another way (the run marker), kept until they are gone.
    pub fn add(&self, found: &[ProcessRecord]) {
        let mut state = self.inner.lock_state();
        let Some(tracked) = state.runs.get_mut(&self.key) else {
            return;
        };
        let before = tracked.recorded.len();
        for record in found {
            if record.pid != tracked.root.pid && !holds(&tracked.recorded, record) {
                tracked.recorded.push(*record);
            }
        }
        if tracked.recorded.len() != before {
            tracked.updates.send_replace(tracked.recorded.clone());
        }
    }

    /// Makes one pass for every registered run now, on the caller's thread, and waits for
    /// it: this run's records then hold every descendant below this process.
    pub fn sample_now(&self) {
        self.inner.pass();
    }

    /// Asks for a pass now rather than at the next tick.
    pub fn sample_soon(&self) {
        self.inner.lock_state().woken = true;
        self.inner.wake.notify_all();
    }
}

impl Drop for RunTracking {
    fn drop(&mut self) {
        self.inner.lock_state().runs.remove(&self.key);
    }
}

/// Whether `records` already names `record`'s process (same pid and start time).
fn holds(records: &[ProcessRecord], record: &ProcessRecord) -> bool {
    records
        .iter()
        .any(|known| known.pid == record.pid && known.start_time == record.start_time)
}

fn identity(stat: &ProcStat) -> Identity {
    (stat.pid, stat.start_time)
}

/// The sampler thread: a pass per tick while runs are registered, idle otherwise.
fn keep_sampling(weak: &Weak<Inner>) {
    let mut next_tick = Instant::now();
    while let Some(inner) = weak.upgrade() {
        if !inner.wait_for_tick(&mut next_tick) {
            return;
        }
        inner.pass();
    }
}

/// What an adopted orphan's environment said about its run.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Marker {
    /// It names this run.
    Found(String),
    /// No marker in this many reads so far.
    Missing(u8),
}

impl Marker {
    /// The marker of `pid`, reading its environment unless an earlier read settled it.
    fn look_up(earlier: Option<Self>, pid: u32, reader: &mut ProcReader) -> Self {
        let reads = match earlier {
            Some(Self::Found(run_id)) => return Self::Found(run_id),
            Some(Self::Missing(reads)) if reads >= MARKER_READS => return Self::Missing(reads),
            Some(Self::Missing(reads)) => reads,
            None => 0,
        };
        reader
            .environ_value(pid, RUN_ENV)
            .map_or(Self::Missing(reads + 1), Self::Found)
    }

    fn run_id(&self) -> Option<&str> {
        match self {
            Self::Found(run_id) => Some(run_id),
            Self::Missing(_) => None,
        }
    }
}

/// What one pass starts from: each registration's key, run, root and records.
struct Snapshot {
    key: u64,
    run_id: RunId,
    root: ProcessRecord,
    recorded: Vec<ProcessRecord>,
}

impl Inner {
    fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Blocks until the next pass is due; false once nothing but the thread holds this.
    fn wait_for_tick(self: &Arc<Self>, next_tick: &mut Instant) -> bool {
        let mut state = self.lock_state();
        loop {
            if Arc::strong_count(self) == 1 {
                return false;
            }
            let interval = state.runs.values().map(|tracked| tracked.interval).min();
            let now = Instant::now();
            let wait = match interval {
                None => IDLE_RECHECK,
                Some(interval) if state.woken || now >= *next_tick => {
                    state.woken = false;
                    *next_tick = now + interval;
                    return true;
                }
                Some(_) => *next_tick - now,
            };
            state = self
                .wake
                .wait_timeout(state, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// One pass for every registered run.
    fn pass(&self) {
        let mut memory = self.memory.lock().unwrap_or_else(PoisonError::into_inner);
        let snapshot: Vec<Snapshot> = self
            .lock_state()
            .runs
            .iter()
            .map(|(key, tracked)| Snapshot {
                key: *key,
                run_id: tracked.run_id,
                root: tracked.root,
                recorded: tracked.recorded.clone(),
            })
            .collect();
        if snapshot.is_empty() {
            *memory = Memory::default();
            return;
        }
        let mut reader = ProcReader::system();
        let me = std::process::id();
        let forest = match self.mode {
            WalkMode::ChangedOnly => reader.descendants_changed(me, &mut memory.known),
            mode => reader.descendants_of(me, mode),
        };
        let found = attribute(&forest, &snapshot, &mut memory, &mut reader);
        let mut updated = Vec::with_capacity(snapshot.len());
        for run in &snapshot {
            let mut records: Vec<ProcessRecord> = run
                .recorded
                .iter()
                .filter(|record| {
                    forest.stats.get(&record.pid).map_or_else(
                        || still_running(record).is_some(),
                        |stat| stat.start_time == record.start_time,
                    )
                })
                .copied()
                .collect();
            for stat in found.get(&run.key).into_iter().flatten() {
                let record = stat.record();
                match records
                    .iter_mut()
                    .find(|known| known.pid == record.pid && known.start_time == record.start_time)
                {
                    Some(known) => known.pgid = record.pgid,
                    None => records.push(record),
                }
            }
            updated.push((run.key, &run.recorded, records));
        }
        let mut state = self.lock_state();
        for (key, before, mut records) in updated {
            let Some(tracked) = state.runs.get_mut(&key) else {
                continue; // Unregistered during the pass.
            };
            // Added by the run's owner during the pass: keep them.
            for added in tracked
                .recorded
                .iter()
                .filter(|record| !holds(before, record))
            {
                if !holds(&records, added) {
                    records.push(*added);
                }
            }
            if records != tracked.recorded {
                tracked.recorded.clone_from(&records);
                tracked.updates.send_replace(records);
            }
        }
    }
}

/// Which registration each process of `forest` belongs to, remembered in `memory` for
/// the next pass. Reads an environment only for an adopted orphan first seen.
fn attribute<'forest>(
    forest: &'forest Forest,
    runs: &[Snapshot],
    memory: &mut Memory,
    reader: &mut ProcReader,
) -> HashMap<u64, Vec<&'forest ProcStat>> {
    let roots: HashMap<Identity, u64> = runs
        .iter()
        .map(|run| ((run.root.pid, run.root.start_time), run.key))
        .collect();
    let by_run_id: HashMap<String, u64> = runs
        .iter()
        .map(|run| (run.run_id.to_string(), run.key))
        .collect();
    let registered: HashSet<u64> = runs.iter().map(|run| run.key).collect();
    let mut attributed = HashMap::new();
    let mut markers = HashMap::new();
    let mut found: HashMap<u64, Vec<&ProcStat>> = HashMap::new();
    let mut queue: Vec<(u32, Option<u64>)> = Vec::new();
    for &pid in &forest.top {
        let Some(stat) = forest.stats.get(&pid) else {
            continue;
        };
        let me = identity(stat);
        if let Some(&key) = roots.get(&me) {
            // The agent itself is its run's root, not a descendant.
            queue.extend(
                children(forest, pid)
                    .iter()
                    .map(|child| (*child, Some(key))),
            );
            continue;
        }
        let remembered = memory
            .attributed
            .get(&me)
            .copied()
            .filter(|key| registered.contains(key));
        let owner = remembered.or_else(|| {
            let marker = Marker::look_up(memory.markers.remove(&me), pid, reader);
            let key = marker
                .run_id()
                .and_then(|run_id| by_run_id.get(run_id).copied());
            markers.insert(me, marker);
            key
        });
        queue.push((pid, owner));
    }
    while let Some((pid, inherited)) = queue.pop() {
        let Some(stat) = forest.stats.get(&pid) else {
            continue;
        };
        let me = identity(stat);
        let owner = memory
            .attributed
            .get(&me)
            .copied()
            .filter(|key| registered.contains(key))
            .or(inherited);
        if let Some(key) = owner {
            attributed.insert(me, key);
            found.entry(key).or_default().push(stat);
        }
        queue.extend(children(forest, pid).iter().map(|child| (*child, owner)));
    }
    memory.attributed = attributed;
    memory.markers = markers;
    found
}

fn children(forest: &Forest, pid: u32) -> &[u32] {
    forest.children.get(&pid).map_or(&[], Vec::as_slice)
}

#[cfg(test)]
#[path = "sampler_tests.rs"]
mod tests;
