//! Stopping runs: graceful interrupts mid-stream and mid-tool, the forceful retry, and
//! what happens to the process tree.

use std::time::Duration;

use lulu_domain::ports::{RunHandle, StopError};
use lulu_domain::{AgentEvent, ConversationMode, RunExit, RunOutcome, RunUpdate, StopMode};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::time::timeout;

use crate::fixtures::{
    collect, events_until, new_session, run_to_end, spec, wait_for, Recorder, Sandbox, RUN_DEADLINE,
};

/// Waits until the recorder holds at least `count` processes (the agent included).
async fn wait_for_records(recorder: &Recorder, count: usize) {
    wait_for(RUN_DEADLINE, "the tool processes to be recorded", || {
        recorder.records().len() >= count
    })
    .await;
}

/// Starts `prompt` (a `BASH` tool run) and returns once the tool's processes are recorded.
async fn start_tool_run(prompt: &str) -> (Sandbox, Recorder, RunHandle) {
    let sandbox = Sandbox::new();
    let recorder = Recorder::default();
    let mut handle = sandbox.start(&sandbox.launcher(&recorder), prompt).await;
    events_until(&mut handle, |event| {
        matches!(event, AgentEvent::ToolUse { .. })
    })
    .await;
    // The agent, bash (leading its own session) and sleep.
    wait_for_records(&recorder, 3).await;
    (sandbox, recorder, handle)
}

/// Stops the run and collects it. The launcher never escalates by itself, so a graceful
/// request the agent did not act on leaves the run going and fails the collection's
/// deadline; how fast a stop lands is the benchmark's to say, not a test's.
async fn stop_and_collect(handle: RunHandle, mode: StopMode) -> (Vec<AgentEvent>, RunExit) {
    handle.control.stop(mode).await.expect("delivered");
    collect(handle).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_interrupt_mid_stream_ends_the_run() {
    let sandbox = Sandbox::new();
    let recorder = Recorder::default();
    let launcher = sandbox.launcher(&recorder);
    let mut handle = sandbox.start(&launcher, "SLOW 200").await;
    events_until(
        &mut handle,
        |event| matches!(event, AgentEvent::AssistantText { text } if text == "tick 2. "),
    )
    .await;

    let (events, exit) = stop_and_collect(handle, StopMode::Graceful).await;
    assert_eq!(exit.outcome, RunOutcome::Interrupted);
    // Stdin closed after an error result (the interrupted turn's): the CLI exits 1.
    assert_eq!(exit.exit_code, Some(1));
    assert!(events.iter().any(|event| matches!(event, AgentEvent::UserText { text } if text == "[Request interrupted by user]")));
    assert!(events.iter().any(|event| matches!(event, AgentEvent::Result { terminal_reason: Some(reason), .. } if reason == "aborted_streaming")));
    recorder.assert_all_gone();
    sandbox.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_interrupt_mid_tool_ends_the_run_and_kills_the_setsid_tool() {
    let (sandbox, recorder, handle) = start_tool_run("BASH sleep 300; echo never").await;
    // A process sampled between its fork and its `setsid` is recorded in the agent's
    // group too; what counts is the group it was last seen in.
    let mut last_group = std::collections::HashMap::new();
    for record in recorder.records().iter().skip(1) {
        last_group.insert(record.pid, record.pgid);
    }
    assert!(
        last_group.values().all(|group| *group != handle.pid),
        "the tool runs in a group of its own: {:?}",
        recorder.records()
    );

    let (events, exit) = stop_and_collect(handle, StopMode::Graceful).await;
    assert_eq!(exit.outcome, RunOutcome::Interrupted);
    assert!(events
        .iter()
        .any(|event| matches!(event, AgentEvent::ToolResult { is_error: true, .. })));
    recorder.assert_all_gone();
    sandbox.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_ignoring_the_interrupt_and_sigint_is_stopped_by_the_forceful_retry() {
    let (sandbox, recorder, mut handle) =
        start_tool_run("IGNORE_INT BASH sleep 300; echo never").await;

    handle
        .control
        .stop(StopMode::Graceful)
        .await
        .expect("delivered");
    let group = Pid::from_raw(i32::try_from(handle.pid).expect("pid"));
    killpg(group, Signal::SIGINT).expect("the agent's group exists");
    let ignored = timeout(Duration::from_millis(300), async {
        loop {
            match handle.updates.recv().await {
                Some(RunUpdate::Event(_) | RunUpdate::TextDelta(_)) => {}
                other => return other,
            }
        }
    })
    .await;
    assert!(
        ignored.is_err(),
        "the agent should have ignored both: {ignored:?}"
    );

    let (_, exit) = stop_and_collect(handle, StopMode::Forceful).await;
    assert_eq!(exit.outcome, RunOutcome::Interrupted);
    assert_eq!(exit.exit_code, Some(128 + 9));
    recorder.assert_all_gone();
    sandbox.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_run_that_has_exited_says_already_exited() {
    let sandbox = Sandbox::new();
    let launcher = sandbox.launcher(&Recorder::default());
    let handle = sandbox.start(&launcher, "SAY hi").await;
    let control = std::sync::Arc::clone(&handle.control);
    let (_, exit) = collect(handle).await;
    assert_eq!(exit.outcome, RunOutcome::Completed);
    assert_eq!(
        control.stop(StopMode::Graceful).await,
        Err(StopError::AlreadyExited)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_updates_are_dropped_is_still_stopped_and_reaped() {
    let sandbox = Sandbox::new();
    let recorder = Recorder::default();
    let launcher = sandbox.launcher(&recorder);
    let handle = sandbox.start(&launcher, "BASH sleep 300; echo never").await;
    wait_for_records(&recorder, 3).await;
    drop(handle);
    wait_for(RUN_DEADLINE, "the dropped run to be stopped", || {
        crate::fixtures::processes_marked(&sandbox.marker).is_empty()
    })
    .await;
    // The agent is reaped first, its recorded descendants only after: wait for them all.
    wait_for(RUN_DEADLINE, "every recorded process to be reaped", || {
        recorder.all_gone()
    })
    .await;
    recorder.assert_all_gone();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_left_running_by_a_completed_turn_is_killed_when_the_run_ends() {
    let sandbox = Sandbox::new();
    let recorder = Recorder::default();
    let launcher = sandbox.launcher(&recorder);
    let run = spec(
        new_session(),
        sandbox.work(),
        "BASH (sleep 300 >/dev/null 2>&1 &); sleep 0.3; echo started",
        ConversationMode::New,
    );
    let (_, exit) = run_to_end(&launcher, run).await;
    assert_eq!(exit.outcome, RunOutcome::Completed);
    recorder.assert_all_gone();
    sandbox.assert_nothing_left();
}

/// An agent that ends its interrupted turn (control response, result) and then never
/// exits, stdin closed or not.
const LINGERING_AGENT: &str = r#"#!/bin/bash
read -r _prompt
echo '{"type":"system","subtype":"init","session_id":"s","model":"m","cwd":"/","tools":[],"claude_code_version":"2.1.197"}'
while read -r line; do
  case "$line" in
    *control_request*)
      echo '{"type":"control_response","response":{"subtype":"success","request_id":"r"}}'
      echo '{"type":"result","subtype":"error_during_execution","is_error":true,"terminal_reason":"aborted_streaming","num_turns":1,"duration_ms":1,"total_cost_usd":0,"usage":{},"session_id":"s"}'
      exec sleep 300 ;;
  esac
done
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_that_ends_its_interrupted_turn_but_never_exits_is_stopped_forcefully() {
    use std::os::unix::fs::PermissionsExt as _;
    let sandbox = Sandbox::new();
    let agent = sandbox.path("lingering-agent");
    std::fs::write(&agent, LINGERING_AGENT).expect("the agent script");
    std::fs::set_permissions(&agent, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let recorder = Recorder::default();
    let launcher = lulu_adapters_cli::CliLauncher::new(lulu_adapters_cli::CliLauncherConfig {
        binary: agent.into_os_string(),
        ..sandbox.config(&recorder)
    });
    let mut handle = sandbox.start(&launcher, "anything").await;
    events_until(&mut handle, |event| {
        matches!(event, AgentEvent::Init { .. })
    })
    .await;

    // Only a graceful stop: the launcher itself must end an agent that lingers after the
    // interrupted turn's result (the session settled on that line).
    let (events, exit) = stop_and_collect(handle, StopMode::Graceful).await;

    assert!(
        events
            .iter()
            .any(|event| matches!(event, AgentEvent::Result { .. })),
        "{events:?}"
    );
    assert_eq!(exit.outcome, RunOutcome::Interrupted);
    assert_eq!(
        exit.exit_code,
        Some(128 + 9),
        "killed, as it would not exit"
    );
    sandbox.assert_nothing_left();
}
