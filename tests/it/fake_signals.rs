//! fake-claude answers signals as the real CLI does (`CLAUDE_CLI.md` §3): in text input
//! mode, SIGINT while text streams ends the turn with its partial text, the interrupted
//! marker and an `error_during_execution` result, and the process exits 0.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::timeout;

use crate::fixtures::{Sandbox, FAKE_CLAUDE, RUN_DEADLINE};

/// fake-claude with an argv prompt (text input), streaming `SLOW` ticks as stream-json.
fn slow_text_mode_run(sandbox: &Sandbox) -> (Child, Pid, Lines<BufReader<ChildStdout>>) {
    let mut child = Command::new(FAKE_CLAUDE)
        .args([
            "-p",
            "SLOW 200",
            "--output-format",
            "stream-json",
            "--verbose",
        ])
        .current_dir(sandbox.path("work"))
        .env_clear()
        .envs(sandbox.env())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("fake-claude starts");
    let pid = Pid::from_raw(i32::try_from(child.id().expect("running")).expect("pid"));
    let lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    (child, pid, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_while_text_streams_without_stream_json_input_ends_the_turn_and_exits_0() {
    let sandbox = Sandbox::new();
    let (mut child, pid, mut lines) = slow_text_mode_run(&sandbox);
    let mut seen: Vec<Value> = Vec::new();
    let read_all = async {
        let mut signalled = false;
        while let Some(line) = lines.next_line().await.expect("stdout reads") {
            let value: Value = serde_json::from_str(&line).expect("one JSON object a line");
            let streaming = value["type"] == "assistant";
            seen.push(value);
            if streaming && !signalled {
                kill(pid, Signal::SIGINT).expect("fake-claude runs");
                signalled = true;
            }
        }
    };
    timeout(RUN_DEADLINE, read_all)
        .await
        .expect("stdout ends in time");
    let status = timeout(RUN_DEADLINE, child.wait())
        .await
        .expect("it exits in time")
        .expect("reaped");

    assert_eq!(status.code(), Some(0), "exit 0, not killed by SIGINT");
    let texts: Vec<String> = seen.iter().map(Value::to_string).collect();
    let marker = seen.iter().any(|line| {
        line["type"] == "user"
            && line["message"]["content"][0]["text"] == "[Request interrupted by user]"
    });
    assert!(marker, "the interrupted marker: {texts:?}");
    let result = seen.last().expect("lines were written");
    assert_eq!(result["type"], "result", "{texts:?}");
    assert_eq!(result["subtype"], "error_during_execution");
    assert_eq!(result["is_error"], true);
    assert_eq!(result["terminal_reason"], "aborted_streaming");
    let partial = seen
        .iter()
        .rev()
        .skip(2)
        .find(|line| line["type"] == "assistant");
    assert!(partial.is_some(), "the partial text: {texts:?}");
    sandbox.assert_nothing_left();
}

/// SIGTERM and SIGHUP end a text-mode run silently with 143 and 129.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sighup_exit_143_and_129_in_text_input_mode() {
    for (signal, code) in [(Signal::SIGTERM, 143), (Signal::SIGHUP, 129)] {
        let sandbox = Sandbox::new();
        let (mut child, pid, mut lines) = slow_text_mode_run(&sandbox);
        timeout(RUN_DEADLINE, async {
            while let Some(line) = lines.next_line().await.expect("stdout reads") {
                if line.contains("\"assistant\"") {
                    return;
                }
            }
        })
        .await
        .expect("the first text arrives in time");
        kill(pid, signal).expect("fake-claude runs");
        let status = timeout(Duration::from_secs(10), child.wait())
            .await
            .expect("it exits in time")
            .expect("reaped");
        assert_eq!(status.code(), Some(code), "{signal}");
    }
}
