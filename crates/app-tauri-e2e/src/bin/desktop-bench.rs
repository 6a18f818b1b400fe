//! Measures `lulu-desktop` and prints the numbers: idle memory with 50 sessions listed,
//! its growth after opening a 100k-entry transcript, the time from a status change in the
//! database to the badge showing it, and cold start to the first painted dashboard.
//! Run under Xvfb: `xvfb-run -a cargo run -p lulu-desktop-e2e --bin desktop-bench`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use serde_json::Value;

use lulu_desktop_e2e::{process_tree_memory, Desktop};

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let began = Instant::now();
    let mut app = Desktop::open(&[("LULU_MAX_RUNNING", "8"), ("FAKE_CLAUDE_TICK_MS", "0")]).await?;
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
    // A 100k-entry transcript: 100 000 text blocks as fast as the daemon stores them.
    let long = run(
        &app,
        &[
            "run",
            "-d",
            "--title",
            "a very long transcript",
            "SLOW 99998",
        ],
    )?;
    wait_until(&app, |sessions| {
        sessions
            .iter()
            .any(|s| s["id"] == long.as_str() && s["status"] == "completed")
    })
    .await?;

    app.reopen(&[]).await?;
    println!(
        "cold start to first painted dashboard (51 sessions): {} ms",
        app.started_ms
    );
    app.wait_text("#rows", |t| t.contains("session 49")).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = process_tree_memory(app.app_pid()?)?;
    println!("idle memory, 51 sessions listed: {idle}");

    let opened = Instant::now();
    app.click(&format!("#rows .row[data-id='{long}']")).await?;
    app.wait_text("#transcript", |t| t.contains("tick 9999"))
        .await?;
    println!(
        "open a 100k-entry transcript at its end: {} ms",
        opened.elapsed().as_millis()
    );
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

    app.click("#back").await?;
    let visibility = app.eval("return document.visibilityState").await?;
    println!("the window's page is {visibility} to WebKit");
    latency(&app).await?;
    println!("total bench time: {:.0} s", began.elapsed().as_secs_f64());
    app.close().await;
    Ok(())
}

/// Status change in the database (its `updated_at`) to the badge showing it, for
/// sessions this app started and sessions `lulu` started.
async fn latency(app: &Desktop) -> anyhow::Result<()> {
    app.eval(
        "window.__seen = {};
         new MutationObserver(() => {
           for (const b of document.querySelectorAll('#rows .row')) {
             const key = b.dataset.id + ' ' + b.querySelector('.badge').dataset.status;
             if (!(key in window.__seen)) window.__seen[key] = Date.now();
           }
         }).observe(document.getElementById('rows'), { childList: true, subtree: true });
         return 0",
    )
    .await?;
    let mut own = Vec::new();
    for n in 0..5 {
        let started = app
            .eval_async(&format!(
                "const done = arguments[arguments.length - 1];
                 window.__TAURI__.core.invoke('start_session', {{ input: {{ prompt: 'SAY own {n}', cwd: '{}' }} }}).then((s) => done(s.id), (e) => done('error ' + e.message));",
                app.cwd()
            ))
            .await?;
        own.push(started.as_str().context("an id")?.to_owned());
    }
    let mut others = Vec::new();
    for n in 0..5 {
        others.push(run(app, &["run", "-d", &format!("SAY other {n}")])?);
    }
    // Waits in the page, not with `lulu list` (a reader opening the database could hold
    // up the daemon's writes) nor by polling through WebDriver (each poll is a script the
    // web process runs between the very updates measured).
    let keys: Vec<String> = own
        .iter()
        .chain(&others)
        .map(|id| format!("{id} completed"))
        .collect();
    app.eval_async(&format!(
        "const done = arguments[arguments.length - 1];
         const keys = {};
         const check = () => keys.every((k) => k in window.__seen) ? done(0) : setTimeout(check, 200);
         check();",
        serde_json::to_string(&keys)?
    ))
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen: HashMap<String, i64> =
        serde_json::from_value(app.eval("return window.__seen").await?)?;
    let sessions = app.sessions()?;
    for (label, ids) in [
        ("started by the app", &own),
        ("started by `lulu run -d`", &others),
    ] {
        let mut delays = Vec::new();
        for id in ids {
            let session = sessions
                .iter()
                .find(|s| s["id"] == id.as_str())
                .context("listed")?;
            let stored = chrono_ms(&session["updated_at"])?;
            let shown = seen.get(&format!("{id} completed")).context("badge seen")?;
            delays.push(shown - stored);
        }
        delays.sort_unstable();
        println!(
            "status stored -> badge shows it ({label}): median {} ms, max {} ms over {} sessions",
            delays[delays.len() / 2],
            delays[delays.len() - 1],
            delays.len()
        );
    }
    Ok(())
}

/// Milliseconds since the epoch of an RFC 3339 time.
fn chrono_ms(value: &Value) -> anyhow::Result<i64> {
    let text = value.as_str().context("a time")?;
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
