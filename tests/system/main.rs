//! Whole-system tests: the real `lulu` binary, fake-claude, a temp database, no network.
//!
//! A test binary of its own because it makes itself a child subreaper (process-wide) to
//! reap the daemons it starts; see `harness`.

mod approvals;
mod cross_process;
mod daemon;
mod daemon_children;
mod database_file;
mod descriptors;
mod doctor;
mod follow_ups;
mod foreground;
mod full_disk;
mod harness;
mod input;
mod interrupt_reports;
mod lifecycle;
mod mailbox;
mod manners;
mod output;
mod outside_reader;
mod owners;
mod processes;
mod resume_options;
mod secrets;
mod stats_filters;
mod terminal;
mod watch;

/// The fake agent every test runs instead of `claude`.
pub fn fake_claude() -> &'static str {
    env!("CARGO_BIN_EXE_fake-claude")
}
