//! Snapshots of everything `lulu` prints, with fixed ids and times.

use std::collections::HashSet;
use std::fmt::Write as _;

use chrono::{Duration, Utc};

use lulu_domain::testing::{epoch, run_id, sample_session};
use lulu_domain::{
    AgentEvent, FailureKind, OptionOverrides, PermissionDenial, Prompt, Run, RunKind, RunOutcome,
    RunUsage, Session, SessionStatus, TranscriptEntry,
};

use super::json::{EntryJson, SessionJson};
use super::sessions::{session_details, Times};
use super::state::conversation_state;
use super::transcript::{event_line, final_line, run_header};

fn plain(text: &str) -> String {
    anstream::adapter::strip_str(text).to_string()
}

fn history() -> (Session, Vec<Run>) {
    let mut session = sample_session(1);
    session.status = SessionStatus::Completed;
    session.resume_count = 1;
    session.agent_established = true;
    session.active_run_id = Some(run_id(2));
    session.last_resume_at = Some(epoch() + Duration::minutes(10));
    session.updated_at = epoch() + Duration::minutes(11);
    session.options.model = Some("sonnet".into());
    session.options.allowed_tools = vec!["Bash".into(), "Read".into()];
    let first = Run {
        pid: Some(4242),
        ended_at: Some(epoch() + Duration::minutes(2)),
        outcome: Some(RunOutcome::Interrupted),
        exit_code: Some(0),
        model: Some("claude-sonnet-4-6".into()),
        cli_version: Some("2.1.197".into()),
        ..Run::requested(
            run_id(1),
            session.id,
            RunKind::Start,
            session.prompt.clone(),
            session.options.clone(),
            epoch(),
        )
    };
    let overridden = OptionOverrides {
        model: Some("opus".into()),
        permission_mode: Some("acceptEdits".into()),
        ..OptionOverrides::default()
    };
    let second = Run {
        pid: Some(4300),
        ended_at: Some(epoch() + Duration::minutes(11)),
        outcome: Some(RunOutcome::Completed),
        exit_code: Some(0),
        model: Some("claude-opus-4-8".into()),
        cli_version: Some("2.1.197".into()),
        ..Run::requested(
            run_id(2),
            session.id,
            RunKind::Resume,
            Prompt::parse("Carry on,\nbut keep the public API").unwrap(),
            overridden.applied_to(&session.options),
            epoch() + Duration::minutes(10),
        )
    };
    (session, vec![first, second])
}

/// A tool call refused for want of approval, as a result lists it.
fn refusal() -> Vec<PermissionDenial> {
    vec![PermissionDenial {
        tool_name: "Bash".into(),
        tool_use_id: "toolu_02".into(),
        input_json: r#"{"command":"touch notes.md","description":"Create the notes file"}"#.into(),
    }]
}

fn transcript() -> Vec<AgentEvent> {
    vec![
        AgentEvent::Init {
            model: "claude-opus-4-8[1m]".into(),
            cwd: "/srv/app".into(),
            version: "2.1.197".into(),
            tools: vec!["Bash".into()],
        },
        AgentEvent::Thinking {
            text: "The test fails because\nthe parser drops the last token.".into(),
        },
        AgentEvent::AssistantText {
            text: "I'll run the tests first.\n".into(),
        },
        AgentEvent::ToolUse {
            id: "toolu_1".into(),
            name: "Bash".into(),
            input_json:
                r#"{"command":"cargo test -p parser","description":"Run the parser tests"}"#.into(),
        },
        AgentEvent::ToolResult {
            tool_use_id: "toolu_1".into(),
            content: "running 12 tests\ntest result: FAILED. 11 passed; 1 failed".into(),
            is_error: false,
        },
        AgentEvent::ToolUse {
            id: "toolu_2".into(),
            name: "TodoWrite".into(),
            input_json: format!(r#"{{"todos":["{}"]}}"#, "x".repeat(200)),
        },
        AgentEvent::ToolResult {
            tool_use_id: "toolu_2".into(),
            content: "User rejected tool use".into(),
            is_error: true,
        },
        AgentEvent::ApiRetry {
            attempt: 2,
            max_retries: 10,
            retry_delay_ms: 1200,
            error_status: Some(529),
            error: "overloaded_error".into(),
        },
        AgentEvent::UserText {
            text: "[Request interrupted by user]".into(),
        },
        AgentEvent::Other {
            type_name: "system/status".into(),
            raw_json: r#"{"type":"system","subtype":"status"}"#.into(),
        },
        AgentEvent::Diagnostic {
            message: "skipped a malformed output line (expected value at line 1 column 1)".into(),
        },
        AgentEvent::Result {
            subtype: "success".into(),
            is_error: false,
            text: Some("Fixed.".into()),
            errors: vec![],
            terminal_reason: Some("completed".into()),
            usage: RunUsage {
                cost_usd: 0.0973,
                input_tokens: 19_458,
                output_tokens: 312,
                num_turns: 3,
                duration_ms: 12_345,
                permission_denials: 1,
            },
            permission_denials: refusal(),
        },
        AgentEvent::Result {
            subtype: "error_during_execution".into(),
            is_error: true,
            text: None,
            errors: vec!["No conversation found with session ID: a0000001".into()],
            terminal_reason: None,
            usage: RunUsage::default(),
            permission_denials: vec![],
        },
        AgentEvent::Other {
            type_name: "control_response".into(),
            raw_json: r#"{"type":"control_response"}"#.into(),
        },
        AgentEvent::Result {
            subtype: "error_during_execution".into(),
            is_error: true,
            text: None,
            errors: vec![
                "[ede_diagnostic] result_type=user last_content_type=n/a stop_reason=null".into(),
            ],
            terminal_reason: Some("aborted_streaming".into()),
            usage: RunUsage::default(),
            permission_denials: vec![],
        },
    ]
}

/// `show` on a terminal one hour east of UTC, 15 minutes after the session began.
fn on_a_terminal() -> Times<chrono::FixedOffset> {
    Times::Local {
        now: epoch() + Duration::minutes(15),
        zone: chrono::FixedOffset::east_opt(3600).unwrap(),
    }
}

#[test]
fn show_details_with_run_history() {
    let (session, runs) = history();
    insta::assert_snapshot!(plain(&session_details(&session, &runs, &on_a_terminal())));
}

#[test]
fn show_details_piped_give_exact_utc_times() {
    let (session, runs) = history();
    let shown = plain(&session_details(&session, &runs, &Times::<Utc>::Exact));
    assert!(
        shown.contains("Created       2026-01-01T00:00:00Z\n"),
        "{shown}"
    );
    assert!(
        shown.contains("b0000002  2026-01-01T00:10:00Z · took 1 min 00 s"),
        "{shown}"
    );
}

#[test]
fn the_conversation_state_in_plain_words() {
    let (mut session, mut runs) = history();
    let mut lines = Vec::new();
    let mut say = |what: &str, session: &Session, runs: &[Run]| {
        let state = conversation_state(session, runs);
        lines.push(format!(
            "{what}\n  {}\n  {}",
            state.what,
            state.next.unwrap_or_default()
        ));
    };
    for status in SessionStatus::ALL {
        session.status = status;
        say(status.as_str(), &session, &runs);
    }
    for kind in [
        FailureKind::ApiError,
        FailureKind::Crashed,
        FailureKind::LaunchFailed,
        FailureKind::InvalidArguments,
        FailureKind::ConversationNotFound,
        FailureKind::SessionIdInUse,
    ] {
        session.status = SessionStatus::Failed;
        runs[1].outcome = Some(RunOutcome::Failed {
            kind,
            message: "x".into(),
        });
        say(&format!("failed {}", kind.as_str()), &session, &runs);
    }
    session.agent_established = false;
    say(
        "failed, never launched",
        &session,
        &runs[..1]
            .iter()
            .map(|run| Run {
                pid: None,
                ..run.clone()
            })
            .collect::<Vec<_>>(),
    );
    session.status = SessionStatus::Interrupted;
    say("interrupted, no init", &session, &runs);
    insta::assert_snapshot!(lines.join("\n"));
}

#[test]
fn logs_transcript_lines() {
    let (_, runs) = history();
    let mut out = plain(&run_header(1, &runs[0]));
    out.push('\n');
    let refused_live = AgentEvent::PermissionDenied {
        tool_name: "Bash".into(),
        tool_use_id: "toolu_02".into(),
        message: "touch in '/srv/app/notes.md' needs approval.".into(),
    };
    for event in transcript().into_iter().chain([refused_live]) {
        if let Some(line) = event_line(&event) {
            let _ = writeln!(out, "{}", plain(&line));
        }
    }
    insta::assert_snapshot!(out);
}

#[test]
fn final_lines_of_a_foreground_run() {
    let mut out = String::new();
    for (status, error) in [
        (SessionStatus::Completed, None),
        (SessionStatus::Interrupted, None),
        (
            SessionStatus::Failed,
            Some("No conversation found with session ID: a0000001-0000-0000-0000-000000000000"),
        ),
    ] {
        let mut session = sample_session(1);
        session.status = status;
        session.last_error = error.map(str::to_owned);
        let _ = writeln!(out, "{}", plain(&final_line(&session, 12_345)));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn json_shapes() {
    let (session, runs) = history();
    let list = serde_json::to_string_pretty(&SessionJson::of(&session)).unwrap();
    let show = serde_json::to_string_pretty(&SessionJson::with_runs(&session, &runs)).unwrap();
    let entry = TranscriptEntry {
        run_id: run_id(1),
        seq: 3,
        at: epoch(),
        event: AgentEvent::ToolResult {
            tool_use_id: "toolu_1".into(),
            content: "ok".into(),
            is_error: false,
        },
    };
    let tool_call = TranscriptEntry {
        seq: 2,
        event: AgentEvent::ToolUse {
            id: "toolu_1".into(),
            name: "Bash".into(),
            input_json: r#"{"command":"cargo test","description":"Run the tests"}"#.into(),
        },
        ..entry.clone()
    };
    let logs = [&tool_call, &entry]
        .map(|entry| serde_json::to_string(&EntryJson::of(entry)).unwrap())
        .join("\n");
    let failed = RunOutcome::Failed {
        kind: FailureKind::ConversationNotFound,
        message: "gone".into(),
    };
    insta::assert_snapshot!(format!(
        "list/interrupt --json:\n{list}\n\nshow --json:\n{show}\n\nlogs --json (one line per entry):\n{logs}\n\noutcome words: {}",
        failed.label()
    ));
}

/// Sets the window title, clears the screen, sends a C1 CSI, reverses what follows.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}1m\u{202e}evil\u{7f}";

/// A session whose every stored text field is hostile (as an older Lulu may have stored it).
fn hostile_session() -> (Session, Vec<Run>) {
    let (mut session, runs) = history();
    let prompt = Prompt::parse(format!("SAY {HOSTILE}\r\nmore")).unwrap();
    session.title = lulu_domain::SessionTitle::from_stored(HOSTILE).unwrap();
    session.cwd = lulu_domain::WorkingDir::parse(format!("/srv/{HOSTILE}")).unwrap();
    session.prompt = prompt.clone();
    session.status = SessionStatus::Failed;
    session.last_error = Some(format!("agent said {HOSTILE}"));
    session.options.model = Some(HOSTILE.into());
    session.options.append_system_prompt = Some(HOSTILE.into());
    let runs = runs
        .into_iter()
        .map(|run| Run {
            prompt: prompt.clone(),
            options: session.options.clone(),
            model: Some(HOSTILE.into()),
            cli_version: Some(HOSTILE.into()),
            ..run
        })
        .collect();
    (session, runs)
}

fn hostile_transcript() -> Vec<AgentEvent> {
    let text = || format!("{HOSTILE}\r\ntwo\tcolumns");
    vec![
        AgentEvent::Init {
            model: HOSTILE.into(),
            cwd: HOSTILE.into(),
            version: HOSTILE.into(),
            tools: vec![],
        },
        AgentEvent::AssistantText { text: text() },
        AgentEvent::Thinking { text: text() },
        AgentEvent::ToolUse {
            id: "toolu_1".into(),
            name: HOSTILE.into(),
            input_json: serde_json::json!({ "command": text() }).to_string(),
        },
        AgentEvent::ToolUse {
            id: "toolu_2".into(),
            name: "Odd".into(),
            input_json: format!("not json {HOSTILE}"),
        },
        AgentEvent::ToolResult {
            tool_use_id: "toolu_1".into(),
            content: text(),
            is_error: false,
        },
        AgentEvent::ToolResult {
            tool_use_id: "toolu_1".into(),
            content: text(),
            is_error: true,
        },
        AgentEvent::UserText { text: text() },
        AgentEvent::ApiRetry {
            attempt: 1,
            max_retries: 2,
            retry_delay_ms: 10,
            error_status: None,
            error: text(),
        },
        AgentEvent::Result {
            subtype: HOSTILE.into(),
            is_error: true,
            text: Some(text()),
            errors: vec![text()],
            terminal_reason: None,
            usage: RunUsage::default(),
            permission_denials: vec![],
        },
        AgentEvent::Other {
            type_name: HOSTILE.into(),
            raw_json: "{}".into(),
        },
        AgentEvent::Diagnostic { message: text() },
    ]
}

/// Everything the renderers make of hostile stored and agent text, colours on.
fn hostile_output() -> String {
    let (session, runs) = hostile_session();
    let now = epoch() + Duration::minutes(15);
    let fit = super::table::Fit {
        width: 200,
        home: None,
    };
    let mut out =
        super::table::session_table(std::slice::from_ref(&session), &HashSet::new(), now, fit);
    let times = Times::Local {
        now,
        zone: chrono::Utc,
    };
    out.push_str(&session_details(&session, &runs, &times));
    for event in hostile_transcript() {
        if let Some(line) = event_line(&event) {
            let _ = writeln!(out, "{line}");
        }
    }
    let _ = writeln!(out, "{}", final_line(&session, 12_345));
    out
}

/// Lulu's own colours: `ESC [ params m`, the only escapes the renderers may emit.
fn without_own_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("\u{1b}[") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let params = after
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(after.len());
        if after[params..].starts_with('m') {
            rest = &after[params + 1..];
        } else {
            out.push_str(&rest[start..start + 2]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn hostile_text_reaches_the_terminal_only_as_visible_characters() {
    let shown = without_own_colours(&hostile_output());
    let obeyed: Vec<char> = shown
        .chars()
        .filter(|c| lulu_domain::is_terminal_control(*c) && !matches!(c, '\n' | '\t'))
        .collect();
    assert!(obeyed.is_empty(), "raw controls {obeyed:?} in:\n{shown}");
}

#[test]
fn hostile_text_as_shown() {
    insta::assert_snapshot!(plain(&hostile_output()));
}
