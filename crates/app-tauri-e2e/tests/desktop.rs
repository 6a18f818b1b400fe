//! `lulu-desktop` end to end, through its real window (`tauri-driver`, `WebKitWebDriver`,
//! Xvfb), against fake-claude: run with `xvfb-run -a cargo test -p lulu-desktop-e2e --
//! --test-threads=1`. Each test has its own database, daemon and app.

use std::time::Instant;

use lulu_desktop_e2e::{Desktop, DEADLINE};

type Result = anyhow::Result<()>;

/// Opens the form, fills prompt and directory, submits.
async fn start_from_form(app: &Desktop, prompt: &str, cwd: &str) -> Result {
    app.click("#new-session").await?;
    app.fill("#f-prompt", prompt).await?;
    app.fill("#f-cwd", cwd).await?;
    app.click("#f-submit").await?;
    Ok(())
}

fn badge_is(status: &'static str) -> impl Fn(&str) -> bool {
    move |text: &str| text.trim().ends_with(status)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_started_from_the_form_runs_is_interrupted_and_resumed() -> Result {
    let app = Desktop::open(&[]).await?;
    start_from_form(&app, "SLOW 50", &app.cwd()).await?;
    app.wait_text("#s-badge", badge_is("Running")).await?;
    let id = app
        .wait_text("#s-meta [data-key='id'] dd", |t| t.len() == 36)
        .await?;

    app.click("#s-interrupt").await?;
    app.wait_text("#s-badge", badge_is("Interrupted")).await?;
    app.wait_text("#dashboard .rows, #s-runs", |t| t.contains("interrupted"))
        .await?;

    app.fill("#compose-text", "SAY resumed from the desktop")
        .await?;
    app.click("#compose-button").await?;
    // Desktop sessions are kept open: idle between turns, waiting for a message.
    app.wait_text("#s-badge", badge_is("Idle")).await?;
    app.wait_text("#s-meta [data-key='resumes'] dd", |t| t == "1")
        .await?;
    app.wait_text("#transcript", |t| t.contains("resumed from the desktop"))
        .await?;

    let sessions = app.sessions()?;
    assert_eq!(sessions.len(), 1, "one session row, resumed in place");
    assert_eq!(sessions[0]["id"], id.as_str());
    assert_eq!(sessions[0]["resume_count"], 1);
    assert_eq!(sessions[0]["status"], "idle");
    app.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_started_by_lulu_run_detach_appears_live() -> Result {
    let app = Desktop::open(&[]).await?;
    let began = Instant::now();
    let id = app.lulu_ok(&["run", "--detach", "--title", "from a terminal", "SLOW 30"])?;
    let row = app.wait_row(&id, "Running").await?;
    assert!(row.contains("from a terminal"), "{row}");
    eprintln!(
        "a detached session showed as Running after {:?}",
        began.elapsed()
    );
    assert!(began.elapsed() < DEADLINE);
    app.lulu_ok(&["interrupt", &id])?;
    app.wait_row(&id, "Interrupted").await?;
    app.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_directory_is_an_inline_error_and_creates_nothing() -> Result {
    let app = Desktop::open(&[]).await?;
    start_from_form(&app, "SAY hi", "/no/such/dir").await?;
    let error = app
        .wait_text("[data-for='cwd']", |t| t.contains("/no/such/dir"))
        .await?;
    assert!(
        error.contains("does not exist or is not a directory"),
        "{error}"
    );
    assert!(
        app.eval("return document.getElementById('new-dialog').open")
            .await?
            .as_bool()
            == Some(true)
    );
    app.fill("#f-prompt", "   ").await?;
    app.fill("#f-cwd", &app.cwd()).await?;
    app.click("#f-submit").await?;
    app.wait_text("[data-for='prompt']", |t| t.contains("the prompt is empty"))
        .await?;
    app.fill("#f-prompt", "SAY hi").await?;
    app.fill("#f-cwd", "/no/such/dir").await?;
    app.click("#f-submit").await?;
    app.wait_text("[data-for='cwd']", |t| t.contains("/no/such/dir"))
        .await?;
    app.screenshot("new-session-error").await?;
    assert!(app.sessions()?.is_empty(), "nothing was stored");
    let rows = app
        .eval("return document.querySelectorAll('#rows .row').length")
        .await?;
    assert_eq!(rows, 0);
    app.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_title_and_output_render_as_text() -> Result {
    let app = Desktop::open(&[]).await?;
    let title = r#"<img src=x onerror="document.body.dataset.pwned='img'"><script>document.body.dataset.pwned='script'</script><b>bold</b>"#;
    let id = app.lulu_ok(&[
        "run",
        "--detach",
        "--title",
        title,
        "SAY <i>agent</i> \u{1b}[31mred",
    ])?;
    let row = format!("#rows .row[data-id='{id}'] .title");
    app.wait_text(&row, |t| t == title).await?;
    app.click(&format!("#rows .row[data-id='{id}']")).await?;
    app.wait_text("#s-title", |t| t == title).await?;
    app.wait_text("#transcript", |t| t.contains("<i>agent</i> ␛[31mred"))
        .await?;
    let injected = app
        .eval("return [document.querySelectorAll('main img, main script, main b, main i').length, document.body.dataset.pwned || null]")
        .await?;
    assert_eq!(
        injected,
        serde_json::json!([0, null]),
        "markup from data was parsed"
    );
    app.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_megabyte_reply_shows_two_lines_and_expands_to_a_bounded_part() -> Result {
    let app = Desktop::open(&[]).await?;
    // A 1 MiB reply, which the result line repeats.
    let id = app.lulu_ok(&["run", "--detach", "--title", "huge", "HUGE 1"])?;
    app.wait_row(&id, "Completed").await?;
    app.click(&format!("#rows .row[data-id='{id}']")).await?;
    app.wait_text("#transcript", |t| t.contains("Sent a huge line."))
        .await?;
    let longest = app
        .eval("return Math.max(...[...document.querySelectorAll('#transcript .entry .body')].map((body) => body.textContent.length))")
        .await?;
    let longest = longest.as_u64().unwrap_or(u64::MAX);
    assert!(
        (1000..=1001).contains(&longest),
        "a collapsed entry holds {longest} characters"
    );
    app.click("#transcript .entry.k-result").await?;
    let expanded = app
        .wait_text("#transcript .entry.k-result.expanded .body", |t| {
            t.contains("more characters not shown")
        })
        .await?;
    assert!(
        expanded.len() < 100_100,
        "an expanded entry holds {} characters",
        expanded.len()
    );
    app.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn closing_the_app_leaves_a_running_session_running_and_reopening_shows_it() -> Result {
    let mut app = Desktop::open(&[]).await?;
    start_from_form(&app, "SLOW 60", &app.cwd()).await?;
    app.wait_text("#s-badge", badge_is("Running")).await?;
    let id = app
        .wait_text("#s-meta [data-key='id'] dd", |t| t.len() == 36)
        .await?;

    app.reopen(&[]).await?;
    let sessions = app.sessions()?;
    assert_eq!(
        sessions[0]["status"], "running",
        "closing the window stopped nothing"
    );
    app.wait_row(&id, "Running").await?;
    // Live: an interrupt from a terminal shows up without a reload.
    app.lulu_ok(&["interrupt", &id])?;
    app.wait_row(&id, "Interrupted").await?;
    app.close().await;
    Ok(())
}

/// The screenshots in docs/screenshots (`LULU_SCREENSHOTS_DIR=$PWD/docs/screenshots`):
/// the dashboard with sessions in six states, light and dark, and a session view with a
/// live transcript and a tool call.
#[tokio::test(flavor = "multi_thread")]
async fn screenshots_of_the_dashboard_and_a_live_session() -> Result {
    let mut app =
        Desktop::open(&[("LULU_MAX_RUNNING", "3"), ("FAKE_CLAUDE_TICK_MS", "700")]).await?;
    let done = app.lulu_ok(&[
        "run",
        "-d",
        "--title",
        "Summarise the release notes",
        "SAY The release adds a desktop app.",
    ])?;
    app.wait_row(&done, "Completed").await?;
    let failed = app.lulu_ok(&["run", "-d", "--title", "Migrate the billing schema", "FAIL"])?;
    app.wait_row(&failed, "Failed").await?;
    let stopped = app.lulu_ok(&["run", "-d", "--title", "Refactor the parser", "SLOW 100"])?;
    app.wait_row(&stopped, "Running").await?;
    app.lulu_ok(&["interrupt", &stopped])?;
    app.wait_row(&stopped, "Interrupted").await?;
    let tool = app.lulu_ok(&[
        "run",
        "-d",
        "--title",
        "Run the test suite",
        "BASH echo 'running 214 tests'; sleep 60",
    ])?;
    app.wait_row(&tool, "Bash").await?;
    app.lulu_ok(&["run", "-d", "--title", "Write the changelog", "SLOW 90"])?;
    let third = app.lulu_ok(&["run", "-d", "--title", "Review PR #42", "SLOW 90"])?;
    app.wait_row(&third, "Running").await?;
    let queued = app.lulu_ok(&["run", "-d", "--title", "Update the dependencies", "SLOW 5"])?;
    app.wait_row(&queued, "Queued").await?;
    app.screenshot("dashboard-light").await?;

    app.click(&format!("#rows .row[data-id='{tool}']")).await?;
    app.wait_text("#transcript", |t| t.contains("running 214 tests"))
        .await?;
    app.screenshot("session-live").await?;

    app.reopen(&[("GTK_THEME", "Adwaita:dark")]).await?;
    app.wait_row(&queued, "Queued").await?;
    app.screenshot("dashboard-dark").await?;
    let dark = app
        .eval("return matchMedia('(prefers-color-scheme: dark)').matches")
        .await?;
    assert_eq!(
        dark,
        serde_json::json!(true),
        "GTK_THEME=Adwaita:dark makes the web view dark"
    );
    app.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_keyboard_shortcuts_drive_the_dashboard_and_the_session_view() -> Result {
    use fantoccini::key::Key;
    let (ctrl, esc, enter) = (Key::Control.into(), Key::Escape.into(), Key::Enter.into());
    let app = Desktop::open(&[]).await?;
    let done = app.lulu_ok(&["run", "-d", "--title", "alpha job", "SAY one"])?;
    app.wait_row(&done, "Completed").await?;
    let live = app.lulu_ok(&["run", "-d", "--title", "beta job", "SLOW 300"])?;
    app.wait_row(&live, "Running").await?;
    let dialog_open = "document.getElementById('new-dialog').open";

    // Ctrl+N opens the new-session form; Esc closes it.
    app.press(&[ctrl, 'n']).await?;
    app.wait_true(dialog_open).await?;
    app.press(&[esc]).await?;
    app.wait_true(&format!("!{dialog_open}")).await?;

    // Ctrl+1 opens the first session listed: the running one sorts first.
    app.press(&[ctrl, '1']).await?;
    app.wait_text("#s-title", |t| t == "beta job").await?;
    app.wait_text("#s-badge", badge_is("Running")).await?;
    // Ctrl+. interrupts the open session.
    app.press(&[ctrl, '.']).await?;
    app.wait_text("#s-badge", badge_is("Interrupted")).await?;
    // Esc goes back to the dashboard.
    app.press(&[esc]).await?;
    app.wait_true(
        "!document.getElementById('dashboard').hidden && document.getElementById('session').hidden",
    )
    .await?;

    // Ctrl+K jumps to a session by title.
    app.press(&[ctrl, 'k']).await?;
    app.wait_true("document.getElementById('jump-dialog').open")
        .await?;
    app.fill("#jump-input", "alpha").await?;
    app.press(&[enter]).await?;
    app.wait_text("#s-title", |t| t == "alpha job").await?;
    app.press(&[esc]).await?;
    app.wait_true("!document.getElementById('dashboard').hidden")
        .await?;

    // Enter on a row opens it.
    app.eval(&format!(
        "document.querySelector(\"#rows .row[data-id='{live}']\").focus(); return 0"
    ))
    .await?;
    app.press(&[enter]).await?;
    app.wait_text("#s-title", |t| t == "beta job").await?;
    assert_eq!(app.sessions()?.len(), 2, "no shortcut created a session");
    app.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn reply_text_streams_into_the_session_view_before_it_is_stored() -> Result {
    // Each tick streams "tick N" at once and stores "tick N. " a long tick later.
    let app = Desktop::open(&[("FAKE_CLAUDE_TICK_MS", "2500")]).await?;
    let id = app.lulu_ok(&["run", "-d", "--title", "streaming", "SLOW 4"])?;
    app.click(&format!("#rows .row[data-id='{id}']")).await?;
    app.wait_text("#s-badge", badge_is("Running")).await?;
    // One look at both: the streamed text is shown while no stored entry holds it yet.
    let read = "const s = document.getElementById('streaming');
                return [s.hidden, s.textContent, document.getElementById('transcript').textContent]";
    let began = Instant::now();
    let streamed = loop {
        let seen = app.eval(read).await?;
        let text = seen[1].as_str().unwrap_or_default().to_owned();
        if seen[0] == serde_json::json!(false) && text.starts_with("tick ") {
            let stored = seen[2].as_str().unwrap_or_default();
            assert!(
                !stored.contains(&format!("{text}.")),
                "{text:?} was shown only after it was stored: {stored:?}"
            );
            break text;
        }
        assert!(began.elapsed() < DEADLINE, "no text streamed: {seen}");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    };
    // Then the stored entry replaces it.
    app.wait_text("#transcript", |t| t.contains(&format!("{streamed}.")))
        .await?;
    app.wait_text("#s-badge", badge_is("Completed")).await?;
    app.wait_true("document.getElementById('streaming').hidden")
        .await?;
    app.close().await;
    Ok(())
}
