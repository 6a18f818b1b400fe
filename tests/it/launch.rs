//! Starting, resuming and classifying runs against fake-claude.

use lulu_adapters_cli::CliLauncher;
use lulu_domain::ports::{AgentLauncher, LaunchError};
use lulu_domain::{AgentEvent, ConversationMode, FailureKind, RunOutcome};

use crate::fixtures::{assistant_texts, new_session, run_to_end, spec, Recorder, Sandbox};

fn failure_kind(outcome: &RunOutcome) -> Option<FailureKind> {
    match outcome {
        RunOutcome::Failed { kind, .. } => Some(*kind),
        RunOutcome::Completed | RunOutcome::Interrupted => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_streams_its_events_and_completes_with_cost_usage_and_turns() {
    let sandbox = Sandbox::new();
    let launcher = sandbox.launcher(&Recorder::default());
    let (events, exit) = sandbox.run(&launcher, "SAY hello there").await;

    let kinds: Vec<&str> = events.iter().map(AgentEvent::kind).collect();
    assert_eq!(kinds, ["init", "assistant_text", "result"]);
    assert!(matches!(&events[0], AgentEvent::Init { version, cwd, .. }
        if version == "2.1.197" && cwd == sandbox.work().as_str()));
    assert_eq!(assistant_texts(&events), ["hello there"]);
    let AgentEvent::Result {
        usage,
        is_error,
        text,
        ..
    } = &events[2]
    else {
        panic!("expected the result last, got {events:?}");
    };
    assert!(!is_error);
    assert_eq!(text.as_deref(), Some("hello there"));
    assert!((usage.cost_usd - 0.0125).abs() < 1e-9);
    assert_eq!(
        (usage.input_tokens, usage.output_tokens, usage.num_turns),
        (1012, 7, 1)
    );
    assert_eq!(exit.outcome, RunOutcome::Completed);
    assert_eq!(exit.exit_code, Some(0));
    sandbox.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_continues_the_same_conversation_from_the_same_cwd() {
    let sandbox = Sandbox::new();
    let launcher = sandbox.launcher(&Recorder::default());
    let session = new_session();
    sandbox.complete_first_turn(&launcher, session).await;
    let second = spec(
        session,
        sandbox.work(),
        "SAY second turn",
        ConversationMode::Resume,
    );
    assert_eq!(
        run_to_end(&launcher, second).await.1.outcome,
        RunOutcome::Completed
    );

    let third = spec(session, sandbox.work(), "HISTORY", ConversationMode::Resume);
    let (events, exit) = run_to_end(&launcher, third).await;
    assert_eq!(exit.outcome, RunOutcome::Completed);
    assert_eq!(
        assistant_texts(&events),
        ["This conversation holds 2 earlier turns."]
    );
    sandbox.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_from_another_cwd_is_conversation_not_found() {
    let sandbox = Sandbox::new();
    let launcher = sandbox.launcher(&Recorder::default());
    let session = new_session();
    sandbox.complete_first_turn(&launcher, session).await;

    let elsewhere = spec(
        session,
        sandbox.dir_at("elsewhere"),
        "HISTORY",
        ConversationMode::Resume,
    );
    let (_, exit) = run_to_end(&launcher, elsewhere).await;
    assert_eq!(
        failure_kind(&exit.outcome),
        Some(FailureKind::ConversationNotFound)
    );
    assert_eq!(exit.exit_code, Some(1));
    let RunOutcome::Failed { message, .. } = &exit.outcome else {
        unreachable!()
    };
    assert_eq!(
        message,
        &format!("No conversation found with session ID: {session}")
    );
    sandbox.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_start_of_a_used_session_id_is_session_id_in_use() {
    let sandbox = Sandbox::new();
    let launcher = sandbox.launcher(&Recorder::default());
    let session = new_session();
    sandbox.complete_first_turn(&launcher, session).await;

    let again = spec(session, sandbox.work(), "SAY again", ConversationMode::New);
    let (events, exit) = run_to_end(&launcher, again).await;
    assert!(events.is_empty(), "no stdout expected: {events:?}");
    assert_eq!(
        failure_kind(&exit.outcome),
        Some(FailureKind::SessionIdInUse)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_the_agent_refuses_are_invalid_arguments() {
    let sandbox = Sandbox::new();
    let launcher = sandbox.launcher(&Recorder::default());
    let mut run = spec(
        new_session(),
        sandbox.work(),
        "SAY hi",
        ConversationMode::New,
    );
    run.options.extra_args = vec!["--no-such-flag".into()];
    let (_, exit) = run_to_end(&launcher, run).await;
    assert_eq!(
        exit.outcome,
        RunOutcome::Failed {
            kind: FailureKind::InvalidArguments,
            message: "error: unknown option '--no-such-flag'".into()
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_error_after_retries_is_classified_as_api_error() {
    let sandbox = Sandbox::new();
    let launcher = sandbox.launcher(&Recorder::default());
    let (events, exit) = sandbox.run(&launcher, "FAIL").await;
    let retries = events
        .iter()
        .filter(|event| {
            matches!(
                event,
                AgentEvent::ApiRetry {
                    error_status: Some(500),
                    ..
                }
            )
        })
        .count();
    assert_eq!(retries, 2, "CLAUDE_CODE_MAX_RETRIES=2 in the sandbox");
    assert_eq!(failure_kind(&exit.outcome), Some(FailureKind::ApiError));
    assert_eq!(exit.exit_code, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_that_dies_without_a_result_is_crashed() {
    let sandbox = Sandbox::new();
    let launcher = sandbox.launcher(&Recorder::default());
    let (events, exit) = sandbox.run(&launcher, "CRASH").await;
    assert_eq!(assistant_texts(&events), ["About to crash."]);
    assert_eq!(failure_kind(&exit.outcome), Some(FailureKind::Crashed));
    assert_eq!(exit.exit_code, Some(128 + 6), "abort() is SIGABRT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_prompts_reach_the_agent_verbatim_and_never_a_shell() {
    let sandbox = Sandbox::new();
    let launcher = sandbox.launcher(&Recorder::default());
    let pwned = sandbox.path("pwned");
    let prompts = [
        format!(
            "ECHO $(touch {}) `touch {}`",
            pwned.display(),
            pwned.display()
        ),
        "ECHO \"double\" 'single' \\\" back\\slash".to_owned(),
        "ECHO line one\nline two\r\n\ttabbed".to_owned(),
        "-p --resume ECHO starts with a dash".to_owned(),
        format!("ECHO {}", "lorem ipsum ".repeat(100 * 1024 / 12)),
    ];
    for prompt in prompts {
        let run = spec(
            new_session(),
            sandbox.work(),
            &prompt,
            ConversationMode::New,
        );
        let (events, exit) = run_to_end(&launcher, run).await;
        assert_eq!(exit.outcome, RunOutcome::Completed);
        assert_eq!(assistant_texts(&events), [prompt.as_str()]);
    }
    assert!(!pwned.exists(), "a prompt reached a shell");
    sandbox.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_binary_or_working_dir_is_a_clear_error_and_nothing_starts() {
    let sandbox = Sandbox::new();
    let missing_dir = sandbox.dir_at("no-such-dir");
    let launcher = sandbox.launcher(&Recorder::default());
    let error = launcher
        .launch(spec(
            new_session(),
            missing_dir.clone(),
            "SAY hi",
            ConversationMode::New,
        ))
        .await
        .expect_err("a missing cwd is refused");
    assert_eq!(
        error,
        LaunchError::WorkingDirMissing {
            cwd: missing_dir.to_string()
        }
    );
    assert!(error.to_string().contains("no-such-dir"));

    for binary in ["no-such-claude-binary", "/nonexistent/claude"] {
        let launcher = CliLauncher::new(lulu_adapters_cli::CliLauncherConfig::with_binary(binary));
        let error = launcher
            .launch(spec(
                new_session(),
                sandbox.work(),
                "SAY hi",
                ConversationMode::New,
            ))
            .await
            .expect_err("a missing binary is refused");
        assert_eq!(
            error,
            LaunchError::BinaryNotFound {
                binary: binary.into()
            }
        );
        assert!(error.to_string().contains(binary));
    }
    sandbox.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_dump_becomes_a_one_line_message_and_stays_whole_in_the_transcript() {
    let sandbox = Sandbox::new();
    let launcher = sandbox.launcher(&Recorder::default());
    let (events, exit) = sandbox.run(&launcher, "DUMP 8").await;
    let RunOutcome::Failed { kind, message } = &exit.outcome else {
        panic!("expected a failure, got {exit:?}");
    };
    assert_eq!(*kind, FailureKind::Crashed);
    assert_eq!(
        message,
        "the agent was killed by signal 6; stderr: <--- Last few GCs --->"
    );
    let dump = events
        .iter()
        .find_map(|event| match event {
            AgentEvent::Diagnostic { message } if message.contains("FATAL ERROR") => {
                Some(message.as_str())
            }
            _ => None,
        })
        .expect("the dump is in the transcript");
    assert!(dump.len() > 8_000, "the whole dump: {} bytes", dump.len());
    assert!(dump.ends_with("end of the crash dump"), "{dump}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_streams_as_text_deltas_before_its_complete_block_and_only_that_is_kept() {
    let sandbox = Sandbox::new();
    let launcher = sandbox.launcher(&Recorder::default());
    let mut handle = sandbox
        .start(&launcher, "SAY one two three four five six seven")
        .await;
    let mut streamed = String::new();
    let mut events = Vec::new();
    let exit = loop {
        match handle.updates.recv().await.expect("updates until the exit") {
            lulu_domain::RunUpdate::TextDelta(text) => {
                assert!(
                    events
                        .iter()
                        .all(|event| !matches!(event, AgentEvent::AssistantText { .. })),
                    "deltas come before their block"
                );
                streamed.push_str(&text);
            }
            lulu_domain::RunUpdate::Event(event) => events.push(event),
            lulu_domain::RunUpdate::Exited(exit) => break exit,
        }
    };
    assert_eq!(streamed, "one two three four five six seven");
    let kinds: Vec<&str> = events.iter().map(AgentEvent::kind).collect();
    assert_eq!(
        kinds,
        ["init", "assistant_text", "result"],
        "partial-message lines are not transcript events"
    );
    assert_eq!(exit.outcome, RunOutcome::Completed);
    sandbox.assert_nothing_left();
}
