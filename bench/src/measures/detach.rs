//! Measure 3: `lulu run --detach` with the daemon up and cold, and how soon a change made
//! in the daemon reaches a watch client.

use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context as _;
use lulu_runtime::daemon::DaemonPaths;
use lulu_runtime::protocol::Change;
use tokio::sync::oneshot;

use crate::measures::{timed, Context};
use crate::stats::Samples;
use crate::table::{ms, Row, Verdict};
use crate::world::{Agent, World};

/// Goals: detach with the daemon up (median), detach cold (median), watch (p99).
const WARM_MS: f64 = 30.0;
const COLD_MS: f64 = 300.0;
const WATCH_P99_MS: f64 = 50.0;

/// The three rows.
pub fn measure(context: &Context) -> anyhow::Result<Vec<Row>> {
    let world = World::new(&context.tools, &Agent::Fake { tick_ms: 10 }, 8)?;
    let floor = version_floor(&world, 10)?;
    world.start_daemon()?;
    let warm_rounds = context.pick(20, 50);
    let mut warm = Samples::new();
    for _ in 0..warm_rounds {
        warm.push(timed(&mut world.lulu(&["run", "--detach", "SAY hi"]))?);
    }
    let cold_rounds = context.pick(5, 15);
    let mut cold = Samples::new();
    for _ in 0..cold_rounds {
        world.stop_daemon(Duration::from_secs(60))?;
        cold.push(timed(&mut world.lulu(&["run", "--detach", "SAY hi"]))?);
    }
    let watch_runs = context.pick(20, 60);
    let watch = watch_latencies(&world, watch_runs)?;
    let watch_p99 = watch.percentile(99.0);
    let floor_cell = format!("{} `lulu --version`", ms(floor));
    Ok(vec![
        Row {
            measure: format!("`lulu run --detach`, daemon up (median of {warm_rounds})"),
            baseline: floor_cell.clone(),
            lulu: ms(warm.median()),
            ratio: format!("{:+.1} ms", warm.median() - floor),
            goal: format!("<= {WARM_MS} ms"),
            verdict: Verdict::from_goal(warm.median() <= WARM_MS),
        },
        Row {
            measure: format!("`lulu run --detach`, daemon started (median of {cold_rounds})"),
            baseline: floor_cell,
            lulu: ms(cold.median()),
            ratio: format!("{:+.1} ms", cold.median() - floor),
            goal: format!("<= {COLD_MS} ms"),
            verdict: Verdict::from_goal(cold.median() <= COLD_MS),
        },
        Row {
            measure: format!(
                "change in the daemon → watch client ({} changes, {watch_runs} runs)",
                watch.len()
            ),
            baseline: "-".to_owned(),
            lulu: format!("p99 {}, median {}", ms(watch_p99), ms(watch.median())),
            ratio: "-".to_owned(),
            goal: format!("p99 <= {WATCH_P99_MS} ms"),
            verdict: Verdict::from_goal(watch_p99 <= WATCH_P99_MS),
        },
    ])
}

/// The median of `lulu --version` start to exit: the cost of starting the process at all.
pub fn version_floor(world: &World, rounds: usize) -> anyhow::Result<f64> {
    let mut floor = Samples::new();
    for _ in 0..rounds {
        floor.push(timed(&mut world.lulu(&["--version"]))?);
    }
    Ok(floor.median())
}

/// Starts `runs` short detached runs one after another while a watch client of the
/// daemon's protocol takes each session change's delay: received at minus the change's
/// `updated_at` (the daemon's clock, the same machine's).
fn watch_latencies(world: &World, runs: usize) -> anyhow::Result<Samples> {
    world.start_daemon()?;
    let paths = DaemonPaths::from_env(&world.db);
    let (ready_tx, ready_rx) = mpsc::channel::<anyhow::Result<()>>();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let watcher = std::thread::spawn(move || -> anyhow::Result<Samples> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let mut latencies = Samples::new();
            let connected = async {
                let mut client = lulu_runtime::client::connect(&paths)
                    .await?
                    .context("no daemon answers")?;
                client.watch().await?;
                anyhow::Ok(client)
            }
            .await;
            let mut client = match connected {
                Ok(client) => {
                    let _ = ready_tx.send(Ok(()));
                    client
                }
                Err(error) => {
                    let _ = ready_tx.send(Err(anyhow::anyhow!("{error}")));
                    return Err(error);
                }
            };
            tokio::pin!(stop_rx);
            loop {
                tokio::select! {
                    change = client.next_change() => match change? {
                        Some(Change::Session { session }) => {
                            let delay = chrono::Utc::now() - session.updated_at;
                            // Microsecond counts of a delay fit f64 exactly.
                            #[allow(clippy::cast_precision_loss)]
                            latencies.push_ms(delay.num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0);
                        }
                        Some(_) => {}
                        None => break,
                    },
                    _ = &mut stop_rx => break,
                }
            }
            Ok(latencies)
        })
    });
    ready_rx.recv().context("the watcher thread ended")??;
    let mut ids = Vec::with_capacity(runs);
    for _ in 0..runs {
        let id = world.detach("SAY watched")?;
        world.wait_status(&id, "completed", Duration::from_secs(30))?;
        ids.push(id);
    }
    // The last change has been announced by the time `show` reads it as completed.
    std::thread::sleep(Duration::from_millis(200));
    let _ = stop_tx.send(());
    watcher
        .join()
        .map_err(|_| anyhow::anyhow!("the watcher thread panicked"))?
}
