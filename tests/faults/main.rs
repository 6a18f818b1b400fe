//! The fault suite (issue 9): the real `lulu` binary and fake-claude (the real Claude
//! Code CLI too, where it is installed) under faults: owners killed or frozen, agents
//! that ignore interrupts, crash, flood or freeze, hostile input, races, queue limits,
//! a full disk, an outside reader, fd exhaustion and a deleted database.
//!
//! After every scenario [`invariants::check_invariants`] proves the same things: the
//! database passes `PRAGMA integrity_check`, no session is left live without its owner,
//! no process carrying the test's marker is left (nor a zombie), and every transcript
//! line the agent emitted is stored or counted as lost.
//!
//! A test binary of its own, like `system`: it makes itself a child subreaper
//! (process-wide) to reap the daemons and orphaned agents it causes.

#[path = "../system/harness.rs"]
#[allow(dead_code)] // the whole-system tests use the rest of it
mod harness;
#[path = "../system/processes.rs"]
#[allow(dead_code)] // the whole-system tests use the rest of it
mod processes;

mod accounting;
mod agent_faults;
mod concurrency;
mod hostile;
mod invariants;
mod kills;
mod real_cli;
mod resources;
mod signals;
mod world;

/// The fake agent every test runs instead of `claude`.
pub fn fake_claude() -> &'static str {
    env!("CARGO_BIN_EXE_fake-claude")
}
