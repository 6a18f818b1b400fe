//! The desktop app's measures, taken by its own bench (`desktop-bench` in the desktop's
//! end-to-end crate: the release app in a real window under Xvfb, driven through
//! `WebDriver`), run from here and read from the JSON line it prints last.

use std::ffi::OsStr;
use std::process::Command;

use anyhow::{bail, Context as _};
use lulu_adapters_cli::resolve_binary;
use serde_json::Value;

use crate::measures::Context;
use crate::table::{ms, Row, Verdict};

/// The line `desktop-bench` gives its numbers on.
const RESULTS: &str = "desktop-bench results: ";
/// Idle memory of the app and its web-view processes, MB (PSS).
const IDLE_MB: f64 = 150.0;
/// Growth after opening a 100k-entry transcript, MB (PSS).
const GROWTH_MB: f64 = 30.0;
/// Opening a 100k-entry transcript, ms.
const OPEN_MS: f64 = 1000.0;
/// Status change to badge, the app's own sessions and other processes', ms.
const BADGE_OWN_MS: f64 = 100.0;
const BADGE_OTHERS_MS: f64 = 1000.0;

/// Builds the release app and its bench, runs it under Xvfb and gives its rows.
pub fn measure(context: &Context) -> anyhow::Result<Vec<Row>> {
    let results = run_desktop_bench(context)?;
    let number = |key: &str| -> anyhow::Result<f64> {
        results[key]
            .as_f64()
            .with_context(|| format!("desktop-bench gave no {key}"))
    };
    let (idle, idle_rss) = (number("idle_pss_mb")?, number("idle_rss_mb")?);
    let (own, own_max) = (number("badge_own_median_ms")?, number("badge_own_max_ms")?);
    let (others, others_max) = (
        number("badge_others_median_ms")?,
        number("badge_others_max_ms")?,
    );
    let mut rows = vec![goal_row(
        "desktop app: idle memory with 50 sessions (app + web view, PSS)",
        format!("{idle:.0} MB PSS ({idle_rss:.0} MB RSS summed)"),
        format!("<= {IDLE_MB:.0} MB"),
        idle <= IDLE_MB,
    )];
    if context.quick {
        for (measure, goal) in [
            (
                "desktop app: growth after a 100k-entry transcript",
                format!("<= {GROWTH_MB:.0} MB"),
            ),
            (
                "desktop app: open a 100k-entry transcript",
                "< 1 s".to_owned(),
            ),
        ] {
            rows.push(Row::not_run(
                measure,
                &goal,
                "quick mode leaves the 100k-entry transcript out",
            ));
        }
    } else {
        let growth = number("growth_pss_mb")?;
        let open = number("open_100k_ms")?;
        rows.push(goal_row(
            "desktop app: growth after a 100k-entry transcript",
            format!("{growth:+.1} MB PSS"),
            format!("<= {GROWTH_MB:.0} MB"),
            growth <= GROWTH_MB,
        ));
        rows.push(goal_row(
            "desktop app: open a 100k-entry transcript",
            ms(open),
            "< 1 s".to_owned(),
            open < OPEN_MS,
        ));
    }
    rows.push(goal_row(
        "desktop app: status change → badge (median of 5, max)",
        format!(
            "own {} (max {}), others' {} (max {})",
            ms(own),
            ms(own_max),
            ms(others),
            ms(others_max)
        ),
        "<= 100 ms own, <= 1 s others'".to_owned(),
        own <= BADGE_OWN_MS && others <= BADGE_OTHERS_MS,
    ));
    rows.push(Row {
        measure: "desktop app: cold start to first dashboard".to_owned(),
        baseline: "-".to_owned(),
        lulu: format!(
            "{} with 50 sessions, {} empty",
            ms(number("cold_start_ms")?),
            ms(number("cold_start_empty_ms")?)
        ),
        ratio: "-".to_owned(),
        goal: "(reported)".to_owned(),
        verdict: Verdict::Context,
    });
    context.note(
        "desktop app: most of its memory is WebKitGTK's libraries (libLLVM through Mesa's EGL \
         in the app and in the web process, libwebkit2gtk, JavaScriptCore): see the README",
    );
    Ok(rows)
}

/// A row with no baseline.
fn goal_row(measure: &str, lulu: String, goal: String, held: bool) -> Row {
    Row {
        measure: measure.to_owned(),
        baseline: "-".to_owned(),
        lulu,
        ratio: "-".to_owned(),
        goal,
        verdict: Verdict::from_goal(held),
    }
}

/// Builds the release app (with its assets inside) and `desktop-bench`, runs the bench
/// under `xvfb-run` and returns the numbers it printed.
fn run_desktop_bench(context: &Context) -> anyhow::Result<Value> {
    let tools = &context.tools;
    if resolve_binary(OsStr::new("xvfb-run"), std::env::var_os("PATH").as_deref()).is_err() {
        bail!("needs xvfb-run (apt install xvfb), WebKitWebDriver and tauri-driver");
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    for args in [
        &[
            "build",
            "--release",
            "-p",
            "lulu-app-tauri",
            "--features",
            "custom-protocol",
        ][..],
        &[
            "build",
            "--release",
            "-p",
            "lulu-desktop-e2e",
            "--bin",
            "desktop-bench",
        ][..],
    ] {
        let built = Command::new(&cargo)
            .args(args)
            .current_dir(&tools.root)
            .status()?;
        if !built.success() {
            bail!("cargo {} failed", args.join(" "));
        }
    }
    let release = tools.target.join("release");
    let mut bench = Command::new("xvfb-run");
    bench
        .arg("-a")
        .arg(release.join("desktop-bench"))
        .env("LULU_DESKTOP_BIN", release.join("lulu-desktop"))
        .current_dir(&tools.root);
    if context.quick {
        bench.env("LULU_BENCH_QUICK", "1");
    }
    let output = bench.output().context("xvfb-run desktop-bench")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(line) = stdout.lines().find_map(|line| line.strip_prefix(RESULTS)) else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
        bail!(
            "desktop-bench gave no results ({}): {}",
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        );
    };
    Ok(serde_json::from_str(line)?)
}
