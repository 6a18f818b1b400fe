//! Measure 6: the read commands over a large database, process start to exit.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::Context as _;

use crate::dataset::{self, Shape};
use crate::measures::detach::version_floor;
use crate::measures::{timed, Context};
use crate::stats::Samples;
use crate::table::{mib, ms, Row, Verdict};
use crate::world::{Agent, World};

/// Goals (ms): `list`, `show`, `logs` first screen, `list --all --json`.
const LIST_MS: f64 = 30.0;
const SHOW_MS: f64 = 30.0;
const LOGS_MS: f64 = 50.0;
const ALL_MS: f64 = 500.0;
/// Goal (ms): `stats`, summed over every session, in all and by day.
const STATS_MS: f64 = 100.0;
/// Lines on a first screen of `logs`.
const SCREEN: usize = 50;
/// The bound on `list --all --json`'s peak RSS.
const ALL_RSS_BYTES: f64 = 64.0 * 1024.0 * 1024.0;

/// The four rows.
pub async fn measure(context: &Context) -> anyhow::Result<Vec<Row>> {
    let shape = if context.quick {
        context.note(
            "quick mode: the large database is 10k sessions / 1M events (100k / 10M in --full)",
        );
        Shape {
            sessions: 10_000,
            events: 1_000_000,
            big_session: 100_000,
        }
    } else {
        Shape {
            sessions: 100_000,
            events: 10_000_000,
            big_session: 100_000,
        }
    };
    let generated = Instant::now();
    let cache = context.tools.target.join("bench-data");
    let source = dataset::cached(&cache, shape).await?;
    // Byte counts far below 2^52.
    #[allow(clippy::cast_precision_loss)]
    let size = std::fs::metadata(&source)?.len() as f64;
    context.note(&format!(
        "large database: {} sessions, {} events, {} on disk (ready in {:.1} s, cached in {})",
        shape.sessions,
        shape.events,
        mib(size),
        generated.elapsed().as_secs_f64(),
        cache.display()
    ));
    let mut world = World::new(&context.tools, &Agent::Fake { tick_ms: 10 }, 8)?;
    // The read commands read the cached file in place (no session in it is live, so
    // nothing needs recovering and it stays as generated).
    world.use_database(&source);
    let floor = version_floor(&world, 10)?;
    let rounds = context.pick(10, 30);
    let big = dataset::session_id(1);
    let list_all: Vec<&str> = if supports_all(&world)? {
        vec!["list", "--all", "--json"]
    } else {
        vec!["list", "--json"]
    };
    // One untimed pass of each: the file's pages come into the page cache.
    for args in [&["list", "--limit", "50"][..], &["show", &big], &list_all] {
        timed(&mut world.lulu(args))?;
    }
    let (mut list, mut show, mut logs, mut all) = (
        Samples::new(),
        Samples::new(),
        Samples::new(),
        Samples::new(),
    );
    for round in 0..rounds {
        list.push(timed(&mut world.lulu(&["list", "--limit", "50"]))?);
        show.push(timed(&mut world.lulu(&["show", &big]))?);
        logs.push_ms(first_screen_ms(world.lulu(&["logs", &big]))?);
        if round < context.pick(3, 5) {
            all.push(timed(&mut world.lulu(&list_all))?);
        }
    }
    let all_rss = peak_rss(&world.lulu(&list_all))?;
    let base = format!("{} `lulu --version`", ms(floor));
    let row = |measure: String, samples: &Samples, goal: f64| Row {
        measure,
        baseline: base.clone(),
        lulu: ms(samples.median()),
        ratio: format!("{:+.1} ms", samples.median() - floor),
        goal: format!("<= {goal} ms"),
        verdict: Verdict::from_goal(samples.median() <= goal),
    };
    let all_command = format!("`lulu {}`", list_all.join(" "));
    let stats = stats_rows(&world, rounds, shape.sessions, floor)?;
    let mut rows = vec![
        row(
            format!("`lulu list --limit 50` (the terminal default), median of {rounds}"),
            &list,
            LIST_MS,
        ),
        row(
            format!("`lulu show` of a {}-event session", shape.big_session),
            &show,
            SHOW_MS,
        ),
        row(
            format!("`lulu logs` first {SCREEN} lines of it"),
            &logs,
            LOGS_MS,
        ),
        Row {
            measure: format!("{all_command}, {} rows: time, peak RSS", shape.sessions),
            baseline: base.clone(),
            lulu: format!("{}, {}", ms(all.median()), mib(all_rss)),
            ratio: format!("{:+.1} ms", all.median() - floor),
            goal: format!("<= {ALL_MS} ms, RSS <= {}", mib(ALL_RSS_BYTES)),
            verdict: Verdict::from_goal(all.median() <= ALL_MS && all_rss <= ALL_RSS_BYTES),
        },
    ];
    rows.extend(stats);
    Ok(rows)
}

/// `lulu stats` and `lulu stats --by day` over every session (none when this `lulu` has
/// no `stats`), interleaved `rounds` times.
fn stats_rows(world: &World, rounds: usize, sessions: u64, floor: f64) -> anyhow::Result<Vec<Row>> {
    let help = world.lulu_output(&["--help"], 0)?;
    if !String::from_utf8_lossy(&help.stdout).contains("\n  stats ") {
        return Ok(Vec::new());
    }
    let commands: [&[&str]; 2] = [&["stats"], &["stats", "--by", "day"]];
    let mut samples = [Samples::new(), Samples::new()];
    for args in commands {
        timed(&mut world.lulu(args))?;
    }
    for _ in 0..rounds {
        for (args, samples) in commands.iter().zip(&mut samples) {
            samples.push(timed(&mut world.lulu(args))?);
        }
    }
    Ok(commands
        .iter()
        .zip(&samples)
        .map(|(args, samples)| Row {
            measure: format!(
                "`lulu {}` over {sessions} sessions, median of {rounds}",
                args.join(" ")
            ),
            baseline: format!("{} `lulu --version`", ms(floor)),
            lulu: ms(samples.median()),
            ratio: format!("{:+.1} ms", samples.median() - floor),
            goal: format!("<= {STATS_MS} ms"),
            verdict: Verdict::from_goal(samples.median() <= STATS_MS),
        })
        .collect())
}

/// Whether this `lulu list` has `--all`.
fn supports_all(world: &World) -> anyhow::Result<bool> {
    let help = world.lulu_output(&["list", "--help"], 0)?;
    Ok(String::from_utf8_lossy(&help.stdout).contains("--all"))
}

/// Start to the `SCREEN`th line of `command`'s stdout; the rest is not waited for.
fn first_screen_ms(mut command: Command) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut child = command.stderr(Stdio::null()).spawn()?;
    let stdout = child.stdout.take().context("its stdout")?;
    let mut lines = 0;
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    while lines < SCREEN && reader.read_until(b'\n', &mut line)? > 0 {
        lines += 1;
        line.clear();
    }
    let took = started.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    anyhow::ensure!(lines == SCREEN, "logs printed only {lines} lines");
    Ok(took.as_secs_f64() * 1000.0)
}

/// The peak RSS of `command` (run to exit, output discarded), measured by this binary
/// re-run as `lulu-bench --peak-rss PROGRAM ARGS...` (its only child is the command).
fn peak_rss(command: &Command) -> anyhow::Result<f64> {
    let output = Command::new(std::env::current_exe()?)
        .arg("--peak-rss")
        .arg(command.get_program())
        .args(command.get_args())
        .envs(
            command
                .get_envs()
                .filter_map(|(key, value)| Some((key, value?))),
        )
        .current_dir(command.get_current_dir().unwrap_or(Path::new(".")))
        .stdin(Stdio::null())
        .output()?;
    let report = String::from_utf8_lossy(&output.stderr);
    let kib: f64 = report
        .lines()
        .last()
        .and_then(|line| line.strip_prefix("peak-rss-kib "))
        .context("the peak-RSS wrapper gave no report")?
        .trim()
        .parse()?;
    Ok(kib * 1024.0)
}
