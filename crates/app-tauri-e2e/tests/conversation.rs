//! Talking to a live session through the real window (run like `desktop.rs`, under Xvfb):
//! fake-claude's `PERMIT cmd` asks permission as the real CLI does; the request is answered
//! from the session view (or from a terminal), and follow-ups go through the message box.

use lulu_desktop_e2e::Desktop;

type Result = anyhow::Result<()>;

fn badge_is(status: &'static str) -> impl Fn(&str) -> bool {
    move |text: &str| text.trim().ends_with(status)
}

/// Starts `prompt` from the form and waits for the session view to show it asking.
async fn asking_from_form(app: &Desktop, command: &str) -> anyhow::Result<String> {
    app.click("#new-session").await?;
    app.fill("#f-prompt", &format!("PERMIT {command}")).await?;
    app.fill("#f-cwd", &app.cwd()).await?;
    app.click("#f-submit").await?;
    app.wait_text("#s-badge", badge_is("Needs approval"))
        .await?;
    app.wait_text("#a-tool", |t| t == format!("Bash: {command}"))
        .await?;
    app.wait_text("#s-meta [data-key='id'] dd", |t| t.len() == 36)
        .await
}

async fn panel_hidden(app: &Desktop) -> anyhow::Result<()> {
    app.wait_for("#approval[hidden]").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_allowed_from_the_session_view_runs_the_tool() -> Result {
    let app = Desktop::open(&[]).await?;
    let id = asking_from_form(&app, "touch approved.md").await?;
    let path = app.dir.path().join("approved.md");
    app.wait_text("#a-path", |t| t.contains(&path.display().to_string()))
        .await?;
    app.wait_text("#a-input", |t| {
        t.contains("\"command\": \"touch approved.md\"")
    })
    .await?;
    app.wait_text("#a-description", |t| t == "Run the requested command")
        .await?;
    app.screenshot("session-approval").await?;

    // Y allows, as on a terminal (focus is outside any text field).
    app.eval("document.activeElement.blur()").await?;
    app.client.active_element().await?.send_keys("y").await?;
    panel_hidden(&app).await?;
    app.wait_text("#s-badge", badge_is("Idle")).await?;
    assert!(path.exists(), "the allowed tool ran");
    app.wait_text("#transcript", |t| t.contains("asks permission"))
        .await?;
    let sessions = app.sessions()?;
    assert_eq!(sessions[0]["id"], id.as_str());
    assert_eq!(sessions[0]["status"], "idle", "kept open for a follow-up");
    let note = app
        .eval("return document.getElementById('a-note').hidden")
        .await?;
    assert_eq!(note, serde_json::json!(true), "answered here: no note");
    app.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denial_with_a_message_then_a_follow_up_from_the_message_box_then_close() -> Result {
    let app = Desktop::open(&[]).await?;
    asking_from_form(&app, "touch denied.md").await?;
    // Enter in the message field denies with the message.
    app.fill("#a-message", "not in this folder\u{e007}").await?;
    panel_hidden(&app).await?;
    app.wait_text("#s-badge", badge_is("Idle")).await?;
    app.wait_text("#transcript", |t| t.contains("not in this folder"))
        .await?;
    assert!(
        !app.dir.path().join("denied.md").exists(),
        "the denied tool never ran"
    );

    app.wait_text("#compose-button", |t| t == "Send").await?;
    app.fill("#compose-text", "SAY second answer").await?;
    app.click("#compose-button").await?;
    app.wait_text("#transcript", |t| t.contains("SAY second answer"))
        .await?;
    app.wait_text("#transcript .entry.k-assistant_text", |t| {
        t.contains("second answer") && !t.contains("SAY")
    })
    .await?;
    app.wait_text("#s-badge", badge_is("Idle")).await?;
    app.wait_text("#s-meta [data-key='resumes'] dd", |t| t == "0")
        .await?;
    let sessions = app.sessions()?;
    assert_eq!(
        sessions[0]["resume_count"], 0,
        "the same run answered: {sessions:?}"
    );

    app.click("#s-close").await?;
    app.wait_text("#s-badge", badge_is("Completed")).await?;
    app.wait_text("#compose-button", |t| t == "Resume").await?;
    app.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_waiting_for_approval_sorts_first_and_an_answer_from_a_terminal_clears_it(
) -> Result {
    let mut app = Desktop::open(&[]).await?;
    let busy = app.lulu_ok(&["run", "--detach", "--title", "busy elsewhere", "SLOW 90"])?;
    app.wait_row(&busy, "Running").await?;
    let id = asking_from_form(&app, "touch later.md").await?;
    app.click("#back").await?;
    let first = app
        .wait_text("#rows .row:first-child", |t| t.contains("Needs approval"))
        .await?;
    assert!(first.contains("asks Bash: touch later.md"), "{first}");
    app.screenshot("dashboard-approval-light").await?;

    app.reopen(&[("GTK_THEME", "Adwaita:dark")]).await?;
    app.wait_row(&id, "Needs approval").await?;
    app.click(&format!("#rows .row[data-id='{id}']")).await?;
    app.wait_text("#a-tool", |t| t == "Bash: touch later.md")
        .await?;
    app.screenshot("session-approval-dark").await?;

    app.lulu_ok(&["approve", &id])?;
    panel_hidden(&app).await?;
    app.wait_text("#a-note", |t| t.contains("answered or cancelled elsewhere"))
        .await?;
    app.wait_text("#s-badge", badge_is("Idle")).await?;
    app.screenshot("session-answered-elsewhere-dark").await?;
    assert!(app.dir.path().join("later.md").exists());
    app.lulu_ok(&["interrupt", &busy])?;
    app.close().await;
    Ok(())
}
