//! The cost of one sampling tick at 1, 50 and 200 live runs: the shared sampler (one pass
//! for all runs, in both walk modes) against the old way (each run's owner re-reading all
//! of `/proc` for its own tree). Each run is a fake tree: `sh` with a `setsid`'d `sleep` and
//! a plain `sleep`. Prints wall time and `read(2)` calls (from `/proc/self/io`) per tick,
//! and the share of one core that costs at the default 200 ms tick.
//!
//! Run it with `cargo bench -p lulu-adapters-cli --bench sampler`.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use lulu_adapters_cli::{
    descendants, group_leader_record, kill_recorded_groups, still_running, RunTracking,
    TreeSampler, WalkMode,
};
use lulu_domain::{ProcessRecord, RunId};

/// The run counts measured.
const RUN_COUNTS: [usize; 3] = [1, 50, 200];
/// The tick the cost is set against.
const TICK: Duration = Duration::from_millis(200);
/// The sampler's own thread must stay out of the measured passes.
const NO_TICK: Duration = Duration::from_secs(3600);

/// One fake run: its agent stand-in and its record.
struct FakeRun {
    child: Child,
    run_id: RunId,
    root: ProcessRecord,
}

fn start_runs(count: usize) -> Vec<FakeRun> {
    (0..count)
        .map(|_| {
            let run_id = RunId::from_uuid(uuid::Uuid::new_v4());
            let child = Command::new("sh")
                .args(["-c", "setsid sleep 600 & sleep 600 & wait"])
                .env("LULU_RUN_ID", run_id.to_string())
                .process_group(0)
                .spawn()
                .expect("sh runs");
            let root = group_leader_record(child.id());
            FakeRun {
                child,
                run_id,
                root,
            }
        })
        .collect()
}

/// This process's `read(2)` calls so far.
fn read_calls() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|io| {
            io.lines()
                .find_map(|line| line.strip_prefix("syscr: ")?.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Wall time and read calls per tick, over `ticks` runs of `tick`.
fn measure(ticks: u32, mut tick: impl FnMut()) -> (Duration, u64) {
    tick(); // Warm up.
    let reads_before = read_calls();
    let began = Instant::now();
    for _ in 0..ticks {
        tick();
    }
    let wall = began.elapsed() / ticks;
    let reads = read_calls().saturating_sub(reads_before) / u64::from(ticks);
    (wall, reads)
}

fn row(runs: usize, approach: &str, (wall, reads): (Duration, u64)) {
    let core_share = wall.as_secs_f64() / TICK.as_secs_f64() * 100.0;
    println!(
        "{runs:>5} {approach:<34} {:>10.3} {reads:>12} {core_share:>11.2}%",
        wall.as_secs_f64() * 1000.0
    );
}

fn main() {
    let processes = std::fs::read_dir("/proc").map_or(0, |entries| {
        entries
            .flatten()
            .filter(|entry| {
                entry
                    .file_name()
                    .to_str()
                    .is_some_and(|name| name.parse::<u32>().is_ok())
            })
            .count()
    });
    println!("sampling cost per tick ({processes} processes on this machine before the runs; detected walk: {:?})", WalkMode::detect());
    println!(
        "{:>5} {:<34} {:>10} {:>12} {:>12}",
        "runs", "approach", "ms/tick", "reads/tick", "core@200ms"
    );
    for count in RUN_COUNTS {
        let runs = start_runs(count);
        // Let every tree form before measuring.
        std::thread::sleep(Duration::from_millis(300));
        let ticks = u32::try_from((400 / count).clamp(3, 50)).unwrap_or(3);
        let mut recorded = Vec::new();
        for mode in [WalkMode::ChildrenFiles, WalkMode::FullScan] {
            if mode == WalkMode::ChildrenFiles && WalkMode::detect() != mode {
                continue;
            }
            let sampler = TreeSampler::new(mode);
            let tracked: Vec<RunTracking> = runs
                .iter()
                .map(|run| sampler.register(run.run_id, run.root, NO_TICK))
                .collect();
            // The thread's first pass, prompted by the registrations, is over by now.
            std::thread::sleep(Duration::from_millis(200));
            let cost = measure(ticks, || sampler.sample_now());
            row(count, &format!("one sampler, {mode:?}"), cost);
            recorded = tracked.iter().flat_map(RunTracking::records).collect();
        }
        let mut old_records: Vec<Vec<ProcessRecord>> = vec![Vec::new(); runs.len()];
        let cost = measure(ticks, || {
            for (run, records) in runs.iter().zip(&mut old_records) {
                records.retain(|record| still_running(record).is_some());
                for stat in descendants(run.root.pid) {
                    let record = stat.record();
                    if !records.contains(&record) {
                        records.push(record);
                    }
                }
            }
        });
        row(count, "one /proc walk per run (before)", cost);
        kill_recorded_groups(&recorded);
        for mut run in runs {
            kill_recorded_groups(&[run.root]);
            let _ = run.child.wait();
        }
    }
}
