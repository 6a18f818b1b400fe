//! Peak memory of the adapter under a 16 MiB stdout line and 100 MB of stderr.
//!
//! A test binary of its own: `VmHWM` is per process, and other tests running in parallel
//! would raise it. Run with `cargo test -p lulu-tests --test memory -- --nocapture` to
//! see the numbers.

// The shared fixtures; this binary uses only part of them.
#[allow(dead_code)]
#[path = "../it/fixtures.rs"]
mod fixtures;

use lulu_domain::{AgentEvent, RunOutcome};

use fixtures::{assistant_texts, Recorder, Sandbox};

/// Extra peak memory allowed for the huge-line and stderr-flood runs, over the test
/// process's peak before them. Without the line cap a 16 MiB line costs several times
/// its size (buffer, string, JSON value, event).
const ALLOWED_GROWTH_KIB: u64 = 32 * 1024;

/// `VmHWM` (peak resident set) of this process, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmHWM line")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_16_mib_line_and_100_mb_of_stderr_leave_memory_bounded() {
    let sandbox = Sandbox::new();
    let launcher = sandbox.launcher(&Recorder::default());
    let before = peak_rss_kib();

    let (events, exit) = sandbox.run(&launcher, "HUGE 16").await;
    assert!(
        events.iter().any(|event| matches!(event, AgentEvent::Diagnostic { message } if message.contains("longer than the 8388608-byte cap"))),
        "the huge line is diagnosed: {events:?}"
    );
    assert_eq!(assistant_texts(&events), ["Sent a huge line."]);
    assert_eq!(exit.outcome, RunOutcome::Completed);
    let after_huge = peak_rss_kib();

    let (events, exit) = sandbox.run(&launcher, "STDERR 100").await;
    assert_eq!(assistant_texts(&events), ["Flooded stderr."]);
    assert_eq!(exit.outcome, RunOutcome::Completed);
    let after_flood = peak_rss_kib();

    eprintln!("peak RSS (VmHWM): before {before} KiB, after the 16 MiB line {after_huge} KiB, after 100 MB of stderr {after_flood} KiB");
    assert!(
        after_flood < before + ALLOWED_GROWTH_KIB,
        "peak grew from {before} to {after_flood} KiB"
    );
}
