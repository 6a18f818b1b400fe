//! Measure 2: interrupt, request → outcome known (`lulu interrupt` start to exit: it waits
//! for the outcome), on fake-claude (graceful and forceful) and on the real CLI against the
//! Agent SDK's `interrupt()` → result.

use std::time::Duration;

use crate::measures::{timed, Context};
use crate::sdk::SdkHost;
use crate::stats::Samples;
use crate::table::{ms, Row, Verdict};
use crate::world::{Agent, StandIn, World};

/// fake-claude's graceful interrupt: p99 goal.
const FAKE_P99_MS: f64 = 50.0;
/// The interrupt policy's grace before the forceful path.
const GRACE_MS: f64 = 2000.0;
/// Allowed past the grace on the forceful path.
const FORCEFUL_SLACK_MS: f64 = 300.0;
/// Allowed past the SDK's interrupt → result.
const SDK_SLACK_MS: f64 = 20.0;
/// How long the real CLI streams before it is interrupted.
const STREAM_BEFORE_MS: u64 = 1500;

fn interrupt_times(
    world: &World,
    prompt: &str,
    rounds: usize,
    settle: Duration,
) -> anyhow::Result<Samples> {
    let mut samples = Samples::new();
    for _ in 0..rounds {
        let id = world.detach(prompt)?;
        world.wait_transcript(&id, Duration::from_secs(60))?;
        std::thread::sleep(settle);
        samples.push(timed(&mut world.lulu(&["interrupt", &id]))?);
    }
    Ok(samples)
}

/// Graceful and forceful interrupts of fake-claude.
pub fn fake(context: &Context) -> anyhow::Result<Vec<Row>> {
    let world = World::new(&context.tools, &Agent::Fake { tick_ms: 50 }, 8)?;
    world.start_daemon()?;
    let rounds = context.pick(40, 100);
    let graceful = interrupt_times(&world, "SLOW 1000", rounds, Duration::from_millis(100))?;
    let p99 = graceful.percentile(99.0);
    let forceful_rounds = context.pick(2, 5);
    let forceful = interrupt_times(
        &world,
        "IGNORE_INT SLOW 1000",
        forceful_rounds,
        Duration::from_millis(100),
    )?;
    let worst = forceful.percentile(100.0);
    Ok(vec![
        Row {
            measure: format!("interrupt → outcome, fake-claude (p99 of {rounds})"),
            baseline: "-".to_owned(),
            lulu: format!("p99 {}, median {}", ms(p99), ms(graceful.median())),
            ratio: "-".to_owned(),
            goal: format!("p99 <= {FAKE_P99_MS} ms"),
            verdict: Verdict::from_goal(p99 <= FAKE_P99_MS),
        },
        Row {
            measure: format!("interrupt, agent ignores it (worst of {forceful_rounds})"),
            baseline: format!("grace {}", ms(GRACE_MS)),
            lulu: ms(worst),
            ratio: format!("{:+.0} ms", worst - GRACE_MS),
            goal: format!("<= grace + {FORCEFUL_SLACK_MS} ms"),
            verdict: Verdict::from_goal(worst <= GRACE_MS + FORCEFUL_SLACK_MS),
        },
    ])
}

/// The real CLI: `lulu interrupt` against the SDK's `interrupt()` → result, interleaved.
pub fn real(context: &Context, standin: &StandIn) -> anyhow::Result<Vec<Row>> {
    let measure = "interrupt → outcome, real CLI vs Agent SDK";
    let goal = format!("<= SDK + {SDK_SLACK_MS} ms (median)");
    let world = World::real(&context.tools, standin, 8)?;
    let mut sdk = match SdkHost::start(&context.tools, &world) {
        Ok(sdk) => sdk,
        Err(error) => return Ok(vec![Row::not_run(measure, &goal, &error.to_string())]),
    };
    let rounds = context.pick(5, 20);
    let prompt = "SLOWAPI count slowly";
    let mut lulu = Samples::new();
    let mut baseline = Samples::new();
    for _ in 0..rounds {
        lulu.push_ms(
            interrupt_times(&world, prompt, 1, Duration::from_millis(STREAM_BEFORE_MS))?.median(),
        );
        match sdk.ask_ms(&format!("interrupt {STREAM_BEFORE_MS} {prompt}")) {
            Ok(took) => baseline.push_ms(took),
            Err(error) => return Ok(vec![Row::not_run(measure, &goal, &error.to_string())]),
        }
    }
    let added = lulu.median() - baseline.median();
    Ok(vec![Row {
        measure: format!("{measure} (median of {rounds})"),
        baseline: format!("{} SDK", ms(baseline.median())),
        lulu: ms(lulu.median()),
        ratio: format!("{added:+.1} ms"),
        goal,
        verdict: Verdict::from_goal(added <= SDK_SLACK_MS),
    }])
}
