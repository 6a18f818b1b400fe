//! Every exit the CLI documents, and the outcome it is classified as.

use super::*;

fn result(is_error: bool, subtype: &str, text: Option<&str>, errors: &[&str]) -> ResultSummary {
    ResultSummary {
        is_error,
        subtype: subtype.into(),
        text: text.map(str::to_owned),
        errors: errors.iter().map(|error| (*error).to_owned()).collect(),
        terminal_reason: None,
    }
}

/// success, API error, interrupted turn, unknown conversation, max turns.
fn results() -> [ResultSummary; 5] {
    let success = result(false, "success", Some("hello"), &[]);
    let api_error = result(true, "success", Some("API Error: 400 bad request"), &[]);
    let interrupted = result(
        true,
        "error_during_execution",
        None,
        &["[ede_diagnostic] result_type=user last_content_type=n/a stop_reason=null"],
    );
    let not_found = result(
        true,
        "error_during_execution",
        None,
        &["No conversation found with session ID: 11111111-2222-4333-8444-555555555555"],
    );
    let max_turns = result(
        true,
        "error_max_turns",
        None,
        &["Reached maximum number of turns (1)"],
    );
    [success, api_error, interrupted, not_found, max_turns]
}

#[test]
fn the_documented_endings_are_classified_like_this() {
    let [success, api_error, interrupted, not_found, max_turns] = results();
    let cases: Vec<(&str, Ending<'_>)> = vec![
        (
            "success",
            ending(false, Some(&success), Termination::Code(0), ""),
        ),
        (
            "api error",
            ending(false, Some(&api_error), Termination::Code(1), ""),
        ),
        (
            "max turns",
            ending(false, Some(&max_turns), Termination::Code(1), ""),
        ),
        (
            "interrupted turn after a stop",
            ending(true, Some(&interrupted), Termination::Code(0), ""),
        ),
        (
            "killed after a forceful stop",
            ending(true, None, Termination::Signal(9), ""),
        ),
        (
            "resume of an unknown id",
            ending(
                false,
                Some(&not_found),
                Termination::Code(1),
                "No conversation found with session ID: 11111111-2222-4333-8444-555555555555\n",
            ),
        ),
        (
            "session id in use",
            Ending {
                saw_stdout: false,
                ..ending(
                    false,
                    None,
                    Termination::Code(1),
                    "Error: Session ID 8d12e9c7-e912-49e2-87ad-7f5c8469e777 is already in use.\n",
                )
            },
        ),
        (
            "bad flags",
            Ending {
                saw_stdout: false,
                ..ending(
                    false,
                    None,
                    Termination::Code(1),
                    "Error: When using --print, --output-format=stream-json requires --verbose\n",
                )
            },
        ),
        (
            "killed by a signal",
            ending(false, None, Termination::Signal(9), ""),
        ),
        (
            "SIGTERM exit without a stop",
            ending(false, None, Termination::Code(143), ""),
        ),
        (
            "aborted without a result",
            ending(
                false,
                None,
                Termination::Signal(6),
                "panic: out of cheese\n",
            ),
        ),
        (
            "exit 0 without a result",
            ending(false, None, Termination::Code(0), ""),
        ),
        (
            "success result then exit 1",
            ending(false, Some(&success), Termination::Code(1), ""),
        ),
    ];
    let classified: Vec<(&str, RunExit)> = cases
        .iter()
        .map(|(name, ending)| (*name, classify(ending)))
        .collect();
    insta::assert_yaml_snapshot!(classified);
}

#[test]
fn a_crash_dump_becomes_a_short_message_of_its_first_meaningful_line() {
    let dump = format!(
        "\n   \n<--- Last few GCs --->\nFATAL ERROR: Reached heap limit Allocation failed\n{}",
        "    at frame (/usr/lib/node_modules/claude/cli.js:1:2)\n".repeat(200)
    );
    assert!(dump.len() > 8_000, "a multi-kilobyte dump");
    let exit = classify(&ending(false, None, Termination::Signal(6), &dump));
    let RunOutcome::Failed { message, .. } = exit.outcome else {
        panic!("expected a failure, got {exit:?}");
    };
    assert_eq!(
        message,
        "the agent was killed by signal 6; stderr: <--- Last few GCs --->"
    );
    let long_line = "E".repeat(5_000);
    let exit = classify(&ending(false, None, Termination::Code(1), &long_line));
    let RunOutcome::Failed { message, .. } = exit.outcome else {
        panic!("expected a failure, got {exit:?}");
    };
    assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS);
    assert!(message.ends_with('…') && !message.contains('\n'));
}

#[test]
fn a_turn_the_cli_reports_aborted_is_interrupted_even_without_a_stop() {
    for reason in ["aborted_streaming", "aborted_tools"] {
        let aborted = ResultSummary {
            terminal_reason: Some(reason.into()),
            ..result(
                true,
                "error_during_execution",
                None,
                &["[ede_diagnostic] result_type=user last_content_type=n/a stop_reason=null"],
            )
        };
        for code in [0, 1] {
            let exit = classify(&ending(false, Some(&aborted), Termination::Code(code), ""));
            assert_eq!(
                exit.outcome,
                RunOutcome::Interrupted,
                "{reason}, exit {code}"
            );
        }
    }
}

fn ending<'a>(
    stop_requested: bool,
    last_result: Option<&'a ResultSummary>,
    termination: Termination,
    stderr_tail: &'a str,
) -> Ending<'a> {
    Ending {
        stop_requested,
        last_result,
        termination,
        saw_stdout: true,
        stderr_tail,
    }
}
