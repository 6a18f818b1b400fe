//! Measure 4: daemon memory at 1/10/25 real-CLI sessions against the Agent SDK's Node host,
//! and memory, CPU and lost lines at 200 slowly streaming fake sessions.

use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::measures::Context;
use crate::procfs;
use crate::sdk::SdkHost;
use crate::table::{mib, ratio, Row, Verdict};
use crate::world::{wait_until, Agent, StandIn, World};

/// Daemon peak RSS / SDK host peak RSS.
const SDK_RATIO: f64 = 0.5;
/// At 200 fake sessions: daemon RSS and share of one core.
const FAKE_RSS_BYTES: f64 = 100.0 * 1024.0 * 1024.0;
const FAKE_CPU_SHARE: f64 = 0.10;
/// How long the resident memory is sampled once all sessions are live.
const HOLD: Duration = Duration::from_secs(2);
/// The real CLI's slowly streaming reply (15 s on the stand-in).
const SLOW_PROMPT: &str = "SLOWAPI count slowly";

/// The largest of `pid`'s resident memory sampled over `hold`, and its peak since it began.
fn sample_rss(pid: u32, hold: Duration) -> f64 {
    let started = Instant::now();
    let mut most = 0;
    while started.elapsed() < hold {
        most = most.max(procfs::rss_bytes(pid).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(100));
    }
    // Byte counts far below 2^52.
    #[allow(clippy::cast_precision_loss)]
    let peak = most.max(procfs::peak_rss_bytes(pid).unwrap_or(0)) as f64;
    peak
}

/// Lulu's daemon and the SDK host at each session count, side by side.
pub fn real(context: &Context, standin: &StandIn) -> anyhow::Result<Vec<Row>> {
    let counts: &[usize] = context.pick(&[1, 10], &[1, 10, 25]);
    let world = World::real(&context.tools, standin, 32)?;
    let mut rows = Vec::new();
    for &count in counts {
        let measure = format!("peak RSS, {count} real-CLI sessions streaming: daemon vs SDK host");
        let goal = format!("<= {SDK_RATIO}× the SDK host");
        let lulu = match daemon_peak(&world, count) {
            Ok(lulu) => lulu,
            Err(error) => {
                rows.push(Row::not_run(&measure, &goal, &format!("Lulu: {error:#}")));
                continue;
            }
        };
        let sdk = SdkHost::start(&context.tools, &world).and_then(|mut host| {
            let live = host.ask(&format!("hold {count} {SLOW_PROMPT}"))?;
            anyhow::ensure!(
                live["live"].as_u64() == Some(count as u64),
                "not all live: {live}"
            );
            let peak = sample_rss(host.pid(), HOLD);
            host.ask("release")?;
            Ok(peak)
        });
        rows.push(match sdk {
            Ok(sdk) => Row {
                measure,
                baseline: format!("{} SDK host", mib(sdk)),
                lulu: mib(lulu),
                ratio: ratio(lulu / sdk),
                goal,
                verdict: Verdict::from_goal(lulu / sdk <= SDK_RATIO),
            },
            Err(error) => Row {
                lulu: mib(lulu),
                ..Row::not_run(&measure, &goal, &format!("SDK host: {error}"))
            },
        });
    }
    if context.quick {
        context.note("quick mode: real-CLI memory at 1 and 10 sessions (25 in --full)");
    }
    Ok(rows)
}

/// A fresh daemon's peak RSS with `count` real-CLI sessions streaming at once.
fn daemon_peak(world: &World, count: usize) -> anyhow::Result<f64> {
    let pid = world.start_daemon()?;
    let ids: Vec<String> = (0..count)
        .map(|_| world.detach(SLOW_PROMPT))
        .collect::<anyhow::Result<_>>()?;
    let streaming = ids.iter().try_for_each(|id| {
        world
            .wait_transcript(id, Duration::from_secs(120))
            .with_context(|| format!("status {}", world.status(id).unwrap_or_default()))
    });
    let peak = sample_rss(pid, HOLD);
    let _ = world.lulu(&["daemon", "stop", "--force"]).output()?;
    wait_until(Duration::from_secs(30), || {
        (!procfs::is_alive(pid)).then_some(())
    })
    .context("the daemon did not stop")?;
    streaming?;
    Ok(peak)
}

/// What 200 slowly streaming fake sessions cost the daemon.
pub fn fake_200(context: &Context) -> anyhow::Result<Vec<Row>> {
    const SESSIONS: usize = 200;
    const TICKS: usize = 100;
    let prompt = format!("SLOW {TICKS}");
    let expected = reference_events(context, &prompt)?;
    let world = World::new(&context.tools, &Agent::Fake { tick_ms: 500 }, SESSIONS + 8)?;
    let pid = world.start_daemon()?;
    for _ in 0..SESSIONS {
        world.detach(&prompt)?;
    }
    let all_live = wait_until(Duration::from_secs(60), || {
        world
            .count_with_status("running")
            .ok()
            .filter(|live| *live == SESSIONS)
    })
    .is_some();
    // The CPU share in several windows while they all stream, and their median: one
    // window alone moves by a point or two with whatever else the machine does.
    let window = context.pick(Duration::from_secs(3), Duration::from_secs(6));
    let mut shares = Vec::new();
    let mut rss: f64 = 0.0;
    for _ in 0..context.pick(3, 4) {
        let cpu_before = procfs::cpu_seconds(pid).unwrap_or(0.0);
        let started = Instant::now();
        rss = rss.max(sample_rss(pid, window));
        shares.push(
            (procfs::cpu_seconds(pid).unwrap_or(0.0) - cpu_before)
                / started.elapsed().as_secs_f64(),
        );
    }
    shares.sort_by(f64::total_cmp);
    let cpu_share = shares[shares.len() / 2];
    let cpu_most = shares.last().copied().unwrap_or(cpu_share);
    wait_until(Duration::from_secs(180), || {
        world
            .count_with_status("completed")
            .ok()
            .filter(|done| *done == SESSIONS)
    })
    .context("the 200 sessions did not all complete within 180 s")?;
    let lost = lost_lines(&world, expected)?;
    let held = rss <= FAKE_RSS_BYTES && cpu_share <= FAKE_CPU_SHARE && lost == 0 && all_live;
    Ok(vec![Row {
        measure: format!("{SESSIONS} fake sessions streaming slowly: daemon RSS, CPU, lines lost"),
        baseline: "-".to_owned(),
        lulu: format!(
            "{}, {:.1} % of a core (median of {} windows, most {:.1} %), {lost} lost, {}",
            mib(rss),
            cpu_share * 100.0,
            shares.len(),
            cpu_most * 100.0,
            if all_live {
                "all live at once"
            } else {
                "NOT all live at once"
            }
        ),
        ratio: "-".to_owned(),
        goal: "<= 100 MiB, <= 10 %, 0 lost, all live".to_owned(),
        verdict: Verdict::from_goal(held),
    }])
}

/// The events one session of `prompt` stores when it runs alone.
fn reference_events(context: &Context, prompt: &str) -> anyhow::Result<u64> {
    let world = World::new(&context.tools, &Agent::Fake { tick_ms: 1 }, 8)?;
    world.lulu_output(&["run", prompt], 0)?;
    let counts = stored_events(&world)?;
    counts
        .first()
        .map(|(_, count, _)| *count)
        .context("the reference run stored nothing")
}

/// Events stored per session, and lines counted as lost, read through SQLite.
fn stored_events(world: &World) -> anyhow::Result<Vec<(String, u64, u64)>> {
    let connection = rusqlite::Connection::open_with_flags(
        &world.db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let mut query = connection.prepare(
        "SELECT s.id, \
           (SELECT count(*) FROM events e JOIN runs r ON e.run_key = r.key WHERE r.session_id = s.id), \
           s.lost_events \
         FROM sessions s",
    )?;
    let rows = query
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Lines missing against `expected` per session, plus those the daemon counted as lost.
fn lost_lines(world: &World, expected: u64) -> anyhow::Result<u64> {
    Ok(stored_events(world)?
        .iter()
        .map(|(_, stored, lost)| expected.saturating_sub(*stored) + lost)
        .sum())
}
