//! Hostile output: a malformed line, a long line under the cap. The run goes on.
//! (The memory bound under a 16 MiB line and a stderr flood is the `memory` test binary.)

use lulu_domain::{AgentEvent, RunOutcome};

use crate::fixtures::{assistant_texts, Recorder, Sandbox};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_line_becomes_a_diagnostic_and_the_run_completes() {
    let sandbox = Sandbox::new();
    let launcher = sandbox.launcher(&Recorder::default());
    let (events, exit) = sandbox.run(&launcher, "MALFORMED").await;
    assert!(events.iter().any(
        |event| matches!(event, AgentEvent::Diagnostic { message } if message.contains("not JSON"))
    ));
    assert_eq!(assistant_texts(&events), ["Sent a malformed line."]);
    assert_eq!(exit.outcome, RunOutcome::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_under_the_cap_is_kept_whole() {
    let sandbox = Sandbox::new();
    let launcher = sandbox.launcher(&Recorder::default());
    let (events, exit) = sandbox.run(&launcher, "HUGE 2").await;
    assert_eq!(exit.outcome, RunOutcome::Completed);
    let texts = assistant_texts(&events);
    assert_eq!(texts.len(), 2);
    assert_eq!(texts[0].len(), 2 * 1024 * 1024);
}
