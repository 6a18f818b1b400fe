//! Measure 1: `lulu run` to exit against the same agent run directly, interleaved.

use crate::agent::run_direct;
use crate::measures::{timed, Context};
use crate::sdk::SdkHost;
use crate::stats::Samples;
use crate::table::{ms, ratio, Row, Verdict};
use crate::world::{Agent, StandIn, World};

/// The goal for fake-claude: added milliseconds.
const FAKE_ADDED_MS: f64 = 10.0;
/// The goal for the real CLI: Lulu / direct.
const REAL_RATIO: f64 = 1.05;

/// `lulu run` (daemon up) vs fake-claude run directly, on the same short reply.
pub fn fake(context: &Context) -> anyhow::Result<Vec<Row>> {
    let world = World::new(&context.tools, &Agent::Fake { tick_ms: 10 }, 8)?;
    world.start_daemon()?;
    let rounds = context.pick(20, 50);
    let (direct, lulu, _) = interleaved(&world, rounds, "SAY hello from the bench", None)?;
    let added = lulu.median() - direct.median();
    Ok(vec![Row {
        measure: format!("`lulu run` to exit, fake-claude (median of {rounds})"),
        baseline: format!("{} direct", ms(direct.median())),
        lulu: ms(lulu.median()),
        ratio: format!("{added:+.1} ms"),
        goal: format!("<= +{FAKE_ADDED_MS} ms"),
        verdict: Verdict::from_goal(added <= FAKE_ADDED_MS),
    }])
}

/// `lulu run` (daemon up) vs the real CLI run directly, against the stand-in API.
pub fn real(context: &Context, standin: &StandIn) -> anyhow::Result<Vec<Row>> {
    let world = World::real(&context.tools, standin, 8)?;
    let rounds = context.pick(8, 20);
    let mut sdk = SdkHost::start(&context.tools, &world);
    let (direct, lulu, by_sdk) = interleaved(&world, rounds, "say hi", sdk.as_mut().ok())?;
    // Each round's pair ran back to back: their ratio is the fair one on a machine whose
    // speed drifts (three full runs gave ratios of medians of 0.95, 0.99 and 1.07).
    let times = lulu.paired_ratio(&direct);
    let sdk_measure =
        format!("`lulu run` vs Agent SDK `query()` to its end, real CLI (median of {rounds})");
    let sdk_row = match sdk {
        Ok(_) => Row {
            measure: sdk_measure,
            baseline: format!("{} SDK", ms(by_sdk.median())),
            lulu: ms(lulu.median()),
            ratio: ratio(lulu.median() / by_sdk.median()),
            goal: "(context)".to_owned(),
            verdict: Verdict::Context,
        },
        Err(error) => Row::not_run(&sdk_measure, "(context)", &format!("{error:#}")),
    };
    Ok(vec![
        sdk_row,
        Row {
            measure: format!(
                "`lulu run` to exit, real CLI (medians of {rounds}; ratio: median of the pairs)"
            ),
            baseline: format!("{} direct", ms(direct.median())),
            lulu: ms(lulu.median()),
            ratio: ratio(times),
            goal: format!("<= {REAL_RATIO}×"),
            verdict: Verdict::from_goal(times <= REAL_RATIO),
        },
    ])
}

/// One warm-up of each, then `rounds` of both, interleaved (A B, B A, A B, ...: neither
/// always goes first); the SDK host's `query()` after each pair when there is one.
fn interleaved(
    world: &World,
    rounds: usize,
    prompt: &str,
    mut sdk: Option<&mut SdkHost>,
) -> anyhow::Result<(Samples, Samples, Samples)> {
    let mut direct = Samples::new();
    let mut lulu = Samples::new();
    let mut by_sdk = Samples::new();
    for round in 0..=rounds {
        let direct_run = || anyhow::Ok(run_direct(world.agent(), prompt, |_| {})?.took);
        let lulu_run = || timed(&mut world.lulu(&["run", prompt]));
        let (took, lulu_took) = if round % 2 == 0 {
            let took = direct_run()?;
            (took, lulu_run()?)
        } else {
            let lulu_took = lulu_run()?;
            (direct_run()?, lulu_took)
        };
        let sdk_took = match sdk.as_deref_mut() {
            Some(host) => Some(host.ask_ms(&format!("query {prompt}"))?),
            None => None,
        };
        if round > 0 {
            direct.push(took);
            lulu.push(lulu_took);
            if let Some(sdk_took) = sdk_took {
                by_sdk.push_ms(sdk_took);
            }
        }
    }
    Ok((direct, lulu, by_sdk))
}
