//! The process sampler's cost per tick at 1, 50 and 200 live runs: the shared sampler (one
//! pass for all runs; reading only what changed, and walking down the children files as it
//! did before) against one `/proc` walk per run (the way before that). Each run is a
//! fake tree: `sh` with a `setsid`'d `sleep` and a plain `sleep`.

use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use lulu_adapters_cli::{
    descendants, group_leader_record, kill_recorded_groups, still_running, RunTracking,
    TreeSampler, WalkMode,
};
use lulu_domain::{ProcessRecord, RunId};

use crate::measures::Context;
use crate::table::{ms, ratio, Row, Verdict};

/// The sampler's default tick, which its cost is set against.
const TICK: Duration = Duration::from_millis(200);
/// The sampler's own thread must stay out of the measured passes.
const NO_TICK: Duration = Duration::from_secs(3600);

/// One fake run: its agent stand-in and its record.
struct FakeRun {
    child: Child,
    run_id: RunId,
    root: ProcessRecord,
}

fn start_runs(count: usize) -> anyhow::Result<Vec<FakeRun>> {
    (0..count)
        .map(|_| {
            let run_id = RunId::from_uuid(uuid::Uuid::new_v4());
            let child = Command::new("sh")
                .args(["-c", "setsid sleep 600 & sleep 600 & wait"])
                .env("LULU_RUN_ID", run_id.to_string())
                .process_group(0)
                .spawn()?;
            let root = group_leader_record(child.id());
            Ok(FakeRun {
                child,
                run_id,
                root,
            })
        })
        .collect()
}

/// Mean wall time of one tick over `ticks` ticks (after one warm-up).
fn per_tick(ticks: u32, mut tick: impl FnMut()) -> Duration {
    tick();
    let began = Instant::now();
    for _ in 0..ticks {
        tick();
    }
    began.elapsed() / ticks
}

/// One row per run count and walk: the shared sampler's (reading only what changed) and
/// the walk down the children files it replaced, against one walk per run.
pub fn measure(context: &Context) -> anyhow::Result<Vec<Row>> {
    let counts: &[usize] = context.pick(&[1, 200], &[1, 50, 200]);
    let mut rows = Vec::new();
    for &count in counts {
        let runs = start_runs(count)?;
        // Let every tree form before measuring.
        std::thread::sleep(Duration::from_millis(300));
        let ticks = u32::try_from((400 / count).clamp(3, 50)).unwrap_or(3);
        let mut old_records: Vec<Vec<ProcessRecord>> = vec![Vec::new(); runs.len()];
        let before = per_tick(ticks, || {
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
        let mut recorded = Vec::new();
        for mode in [WalkMode::ChangedOnly, WalkMode::detect()] {
            let (shared, records) = shared_per_tick(&runs, mode, ticks);
            recorded.extend(records);
            rows.push(row(count, mode, before, shared));
        }
        kill_recorded_groups(&recorded);
        for mut run in runs {
            kill_recorded_groups(&[run.root]);
            let _ = run.child.wait();
        }
    }
    Ok(rows)
}

/// One shared sampler walking as `mode` says, registered for every run: its mean pass and
/// what it recorded.
fn shared_per_tick(runs: &[FakeRun], mode: WalkMode, ticks: u32) -> (Duration, Vec<ProcessRecord>) {
    let sampler = TreeSampler::new(mode);
    let tracked: Vec<RunTracking> = runs
        .iter()
        .map(|run| sampler.register(run.run_id, run.root, NO_TICK))
        .collect();
    // The thread's first pass, prompted by the registrations, is over by now.
    std::thread::sleep(Duration::from_millis(200));
    let shared = per_tick(ticks, || sampler.sample_now());
    (
        shared,
        tracked.iter().flat_map(RunTracking::records).collect(),
    )
}

fn row(count: usize, mode: WalkMode, before: Duration, shared: Duration) -> Row {
    let share = |took: Duration| took.as_secs_f64() / TICK.as_secs_f64() * 100.0;
    Row {
        measure: format!("sampler cost per tick, {count} live runs ({mode:?})"),
        baseline: format!(
            "{} ({:.2} % of a core) one walk per run",
            ms(before.as_secs_f64() * 1000.0),
            share(before)
        ),
        lulu: format!(
            "{} ({:.2} % of a core)",
            ms(shared.as_secs_f64() * 1000.0),
            share(shared)
        ),
        ratio: ratio(shared.as_secs_f64() / before.as_secs_f64()),
        goal: "(context: part of the 10 % at 200)".to_owned(),
        verdict: Verdict::Context,
    }
}
