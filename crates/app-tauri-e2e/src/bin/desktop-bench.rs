//! Measures `lulu-desktop` and prints the numbers: idle memory with 50 sessions listed,
//! its growth after opening a 100k-entry transcript, the time from a status change in the
//! database to the badge showing it, and cold start to the first painted dashboard.
//! Run under Xvfb: `xvfb-run -a cargo run -p lulu-desktop-e2e --bin desktop-bench`.
//!
//! It measures the debug build of `lulu-desktop` it builds itself unless
//! `LULU_DESKTOP_BIN` names another binary: the release build users run, say
//! (`cargo build --release -p lulu-app-tauri --features custom-protocol`, then
//! `LULU_DESKTOP_BIN=$PWD/target/release/lulu-desktop`, or `/usr/bin/lulu-desktop` from
//! the `.deb`). Its first line says which build it measured, as the app reports it.
//! `LULU_BENCH_QUICK=1` skips the 100k-entry transcript (a run in ~20 s instead of
//! minutes): memory with 50 sessions and the badge latency only.
//! Its last line, `desktop-bench results: {...}`, gives the numbers as JSON for
//! `lulu-bench`'s table.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use serde_json::{json, Map, Value};

use lulu_desktop_e2e::{apps, process_tree_memory, Desktop, TreeMemory};

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let began = Instant::now();
    let mut app = Desktop::open(&[("LULU_MAX_RUNNING", "8"), ("FAKE_CLAUDE_TICK_MS", "0")]).await?;
    let mut results = Map::new();
    results.insert("build".into(), say_build(&app).await?);
    results.insert("cold_start_empty_ms".into(), json!(app.started_ms));
    println!(
        "cold start to first painted dashboard (empty): {} ms",
        app.started_ms
    );

    // 50 sessions, settled, from another process.
    for n in 0..50 {
        run(
            &app,
            &[
                "run",
                "-d",
                "--title",
                &format!("session {n:02}"),
                &format!("SAY reply {n}"),
            ],
        )?;
    }
    wait_until(&app, |sessions| {
        sessions.len() == 50 && sessions.iter().all(|s| s["status"] == "completed")
    })
    .await?;
    // A 100k-entry transcript: 100 000 text blocks as fast as the daemon stores them
    // (`LULU_BENCH_QUICK=1` leaves it out, and the measures that need it).
    let quick = std::env::var_os("LULU_BENCH_QUICK").is_some();
    let long = if quick {
        String::new()
    } else {
        run(
            &app,
            &[
                "run",
                "-d",
                "--title",
                "a very long transcript",
                "SLOW 99998",
            ],
        )?
    };
    if !quick {
        wait_until(&app, |sessions| {
            sessions
                .iter()
                .any(|s| s["id"] == long.as_str() && s["status"] == "completed")
        })
        .await?;
    }

    app.reopen(&[]).await?;
    println!(
        "cold start to first painted dashboard ({} sessions): {} ms",
        if quick { 50 } else { 51 },
        app.started_ms
    );
    results.insert("cold_start_ms".into(), json!(app.started_ms));
    app.wait_text("#rows", |t| t.contains("session 49")).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = process_tree_memory(app.app_pid()?)?;
    println!("idle memory, sessions listed: {idle}");
    results.insert("idle_pss_mb".into(), json!(idle.pss_mb));
    results.insert("idle_rss_mb".into(), json!(idle.rss_mb));
    if quick {
        results.extend(latency(&app).await?);
        app.close().await;
        println!("desktop-bench results: {}", Value::Object(results));
        return Ok(());
    }

    results.extend(open_long_transcript(&app, &long, &idle).await?);

    app.click("#back").await?;
    let visibility = app.eval("return document.visibilityState").await?;
    println!("the window's page is {visibility} to WebKit");
    results.extend(latency(&app).await?);
    println!("total bench time: {:.0} s", began.elapsed().as_secs_f64());
    app.close().await;
    println!("desktop-bench results: {}", Value::Object(results));
    Ok(())
}

/// Opens the 100k-entry transcript of session `long` at its end and scrolls through it:
/// how long it took to open and how much the app grew from `idle`, as results.
async fn open_long_transcript(
    app: &Desktop,
    long: &str,
    idle: &TreeMemory,
) -> anyhow::Result<Map<String, Value>> {
    let mut found = Map::new();
    // Timed in the page, from the click to its last entry on screen: polling through
    // WebDriver would add its round trips, and its scripts would compete with the page.
    let opened = open_timed(app, long).await?;
    let opened_ms = opened.as_u64().context("the page timed the opening")?;
    println!("open a 100k-entry transcript at its end: {opened_ms} ms");
    println!(
        "  the page's longest pause meanwhile: {} ms",
        app.eval(LONGEST_PAUSE).await?
    );
    found.insert("open_100k_ms".into(), json!(opened_ms));
    for fraction in [0.0, 0.25, 0.5, 0.75, 1.0, 0.1, 0.9] {
        app.eval(&format!(
            "const t = document.getElementById('transcript'); t.scrollTop = (t.scrollHeight - t.clientHeight) * {fraction}; return 0"
        ))
        .await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let rendered = app
        .eval("return document.querySelectorAll('#transcript .entry').length")
        .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = process_tree_memory(app.app_pid()?)?;
    println!("after opening and scrolling it ({rendered} entries in the DOM): {after}");
    println!(
        "growth: RSS {:+.1} MB, PSS {:+.1} MB",
        after.rss_mb - idle.rss_mb,
        after.pss_mb - idle.pss_mb
    );
    found.insert("growth_pss_mb".into(), json!(after.pss_mb - idle.pss_mb));
    // Once more, for context: an opening that is slow only the first time shows here.
    app.click("#back").await?;
    let again = open_timed(app, long).await?;
    println!(
        "opened again: {again} ms (longest pause {} ms)",
        app.eval(LONGEST_PAUSE).await?
    );
    Ok(found)
}

/// The longest the page went without running its checks during the last [`open_timed`]:
/// a long task (laying out a huge text, say) shows here.
const LONGEST_PAUSE: &str = "return Math.round(window.benchGap)";

/// Clicks session `long`'s row and waits in the page for its last entry: the milliseconds
/// from the click to the frame that shows it, painted.
async fn open_timed(app: &Desktop, long: &str) -> anyhow::Result<Value> {
    app.eval_async(&format!(
        "const done = arguments[arguments.length - 1];
         const shown = () => document.getElementById('transcript').textContent.includes('tick 99998');
         const began = performance.now();
         let last = began; window.benchGap = 0;
         const check = () => {{
           const now = performance.now(); window.benchGap = Math.max(window.benchGap, now - last); last = now;
           // Shown, and the frame with it painted: a long layout of what came with it counts.
           shown() ? requestAnimationFrame(() => setTimeout(() => done(Math.round(performance.now() - began)), 0)) : setTimeout(check, 4);
         }};
         document.querySelector(\"#rows .row[data-id='{long}']\").click();
         check();"
    ))
    .await
}

/// Status change in the database (its `updated_at`) to the badge showing it, for
/// sessions this app started and sessions `lulu` started; their medians and maxima in
/// milliseconds, as results.
async fn latency(app: &Desktop) -> anyhow::Result<Map<String, Value>> {
    app.eval(OBSERVE_BADGES).await?;
    let mut own = Vec::new();
    for n in 0..5 {
        let started = app
            .eval_async(&format!(
                "const done = arguments[arguments.length - 1];
                 window.__TAURI__.core.invoke('start_session', {{ input: {{ prompt: 'SAY own {n}', cwd: '{}' }} }}).then((s) => done(s.id), (e) => done('error ' + e.message));",
                app.cwd()
            ))
            .await?;
        let id = started.as_str().context("an id")?;
        if id.starts_with("error") {
            bail!("start_session: {id}");
        }
        own.push(id.to_owned());
    }
    let mut others = Vec::new();
    for n in 0..5 {
        others.push(run(app, &["run", "-d", &format!("SAY other {n}")])?);
    }
    // Waits in the page, not with `lulu list` (a reader opening the database could hold
    // up the daemon's writes) nor by polling through WebDriver (each poll is a script the
    // web process runs between the very updates measured).
    // The app's sessions stay open for a follow-up: their turn ends in `idle`.
    let keys: Vec<String> = own
        .iter()
        .map(|id| format!("{id} idle"))
        .chain(others.iter().map(|id| format!("{id} completed")))
        .collect();
    wait_for_badges(app, &keys).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen: HashMap<String, i64> =
        serde_json::from_value(app.eval("return window.__seen").await?)?;
    let arrived: HashMap<String, i64> =
        serde_json::from_value(app.eval("return window.__arrived").await?)?;
    let stored: HashMap<String, String> =
        serde_json::from_value(app.eval("return window.__stored").await?)?;
    let mut results = Map::new();
    for (name, label, ids, status) in [
        ("own", "started by the app, to idle", &own, "idle"),
        (
            "others",
            "started by `lulu run -d`, to completed",
            &others,
            "completed",
        ),
    ] {
        let (mut delays, mut delivery, mut drawing) = (Vec::new(), Vec::new(), Vec::new());
        // Badges drawn from a read of the list (after a resync), not from a change.
        let mut unmeasured = 0;
        for id in ids {
            let key = format!("{id} {status}");
            let shown = seen.get(&key).context("badge seen")?;
            let (Some(stored), Some(reached)) = (stored.get(&key), arrived.get(&key)) else {
                unmeasured += 1;
                continue;
            };
            let stored = epoch_ms(stored)?;
            delays.push(shown - stored);
            delivery.push(reached - stored);
            drawing.push(shown - reached);
        }
        println!(
            "status stored -> badge shows it ({label}): {}; stored -> page receives it: {}; received -> badge: {}{}",
            spread(&mut delays),
            spread(&mut delivery),
            spread(&mut drawing),
            match unmeasured {
                0 => String::new(),
                n => format!(" ({n} shown without a change message, not measured)"),
            }
        );
        results.insert(
            format!("badge_{name}_median_ms"),
            json!(delays.get(delays.len() / 2)),
        );
        results.insert(format!("badge_{name}_max_ms"), json!(delays.last()));
    }
    Ok(results)
}

/// Prints which build of `lulu-desktop` is measured, as the app reports it; returns it.
async fn say_build(app: &Desktop) -> anyhow::Result<Value> {
    let build = app
        .eval_async(
            "const done = arguments[arguments.length - 1];
             window.__TAURI__.core.invoke('get_settings').then((s) => done(s.build), (e) => done('unknown: ' + e.message));",
        )
        .await?;
    println!(
        "measuring the {} build of lulu-desktop: {}",
        build.as_str().unwrap_or("unknown"),
        apps().desktop.display()
    );
    Ok(build)
}

/// Records in the page when each status reaches it (its channel callbacks, wrapped),
/// when it was stored (the session's `updated_at`, to the nanosecond) and when its badge
/// shows: the difference is the page's own work.
const OBSERVE_BADGES: &str = "window.__arrived = {};
         window.__stored = {};
         const callbacks = window.__TAURI_INTERNALS__.callbacks;
         for (const [id, callback] of [...callbacks]) {
           callbacks.set(id, (data) => {
             const now = Date.now();
             const m = data && data.message;
             const changes = !m ? [] : m.type === 'change' ? [m.change] : m.type === 'changes' ? m.changes : [];
             for (const c of changes) {
               if (c.change !== 'session') continue;
               const key = c.session.id + ' ' + c.session.status;
               if (!(key in window.__arrived)) {
                 window.__arrived[key] = now;
                 window.__stored[key] = c.session.updated_at;
               }
             }
             return callback(data);
           });
         }
         window.__seen = {};
         new MutationObserver(() => {
           for (const b of document.querySelectorAll('#rows .row')) {
             const key = b.dataset.id + ' ' + b.querySelector('.badge').dataset.status;
             if (!(key in window.__seen)) window.__seen[key] = Date.now();
           }
         }).observe(document.getElementById('rows'), { childList: true, subtree: true });
         return 0";

/// Waits in the page until every `id status` key's badge has shown; each wait stays
/// within `WebDriver`'s 30 s script timeout, and a loaded machine may need several.
async fn wait_for_badges(app: &Desktop, keys: &[String]) -> anyhow::Result<()> {
    let began = Instant::now();
    loop {
        let missing = app
            .eval_async(&format!(
                "const done = arguments[arguments.length - 1];
                 const keys = {};
                 const began = Date.now();
                 const missing = () => keys.filter((k) => !(k in window.__seen));
                 const check = () => missing().length === 0 || Date.now() - began > 20000 ? done(missing()) : setTimeout(check, 200);
                 check();",
                serde_json::to_string(keys)?
            ))
            .await?;
        if missing.as_array().is_some_and(Vec::is_empty) {
            break;
        }
        if began.elapsed() > Duration::from_secs(300) {
            bail!("these badges never showed: {missing}");
        }
    }
    Ok(())
}

/// "median M ms, max X ms over N" of `delays`.
fn spread(delays: &mut [i64]) -> String {
    delays.sort_unstable();
    match (delays.get(delays.len() / 2), delays.last()) {
        (Some(median), Some(max)) => {
            format!("median {median} ms, max {max} ms over {}", delays.len())
        }
        _ => "none seen".to_owned(),
    }
}

/// Milliseconds since the epoch of an RFC 3339 time (with its fraction of a second:
/// `lulu list --json` gives whole seconds, too coarse for these delays).
fn epoch_ms(text: &str) -> anyhow::Result<i64> {
    let output = std::process::Command::new("date")
        .args(["-d", text, "+%s%3N"])
        .output()?;
    Ok(String::from_utf8(output.stdout)?.trim().parse()?)
}

fn run(app: &Desktop, args: &[&str]) -> anyhow::Result<String> {
    let output = app.lulu(args)?;
    if !output.status.success() {
        bail!("lulu {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

async fn wait_until(app: &Desktop, done: impl Fn(&[Value]) -> bool) -> anyhow::Result<()> {
    let began = Instant::now();
    while began.elapsed() < Duration::from_secs(600) {
        if done(&app.sessions()?) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("the sessions never got there")
}
