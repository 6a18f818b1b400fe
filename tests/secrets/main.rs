//! Secrets from the environment never reach the logs.
//!
//! A test binary of its own: tracing caches whether a log callsite is enabled the first
//! time any thread reaches it, so a parallel test without a subscriber could switch off
//! the very lines this test captures.

use std::io::Write;
use std::sync::{Arc, Mutex};

use lulu_domain::{AgentEvent, ConversationMode, RunOutcome};
use tracing_subscriber::fmt::MakeWriter;

#[path = "../it/fixtures.rs"]
#[allow(dead_code)] // shared with the `it` binary, which uses all of it
mod fixtures;

use crate::fixtures::{new_session, run_to_end, spec, Recorder, Sandbox};

const SECRET: &str = "sk-ant-test-SECRET";

/// A tracing writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("not poisoned")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Self;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

// A current-thread runtime: every task of the run logs through this thread's subscriber.
#[tokio::test]
async fn the_api_key_never_appears_in_any_log_line() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let sandbox = Sandbox::new();
    let mut config = sandbox.config(&Recorder::default());
    config.env.push(("ANTHROPIC_API_KEY".into(), SECRET.into()));
    let launcher = lulu_adapters_cli::CliLauncher::new(config);
    let run = spec(
        new_session(),
        sandbox.work(),
        "BASH echo \"$ANTHROPIC_API_KEY\"",
        ConversationMode::New,
    );
    let (events, exit) = run_to_end(&launcher, run).await;

    assert_eq!(exit.outcome, RunOutcome::Completed);
    let echoed = events.iter().any(
        |event| matches!(event, AgentEvent::ToolResult { content, .. } if content == "[redacted]"),
    );
    assert!(
        echoed,
        "the agent did see the key (and its echo was redacted), so the logs could have leaked it"
    );
    let logs =
        String::from_utf8(captured.0.lock().expect("not poisoned").clone()).expect("utf-8 logs");
    assert!(
        logs.contains("agent started"),
        "tracing output was captured: {logs}"
    );
    assert!(!logs.contains(SECRET), "the key leaked into the logs");
}
