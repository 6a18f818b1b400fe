//! Lulu's runtime: the one composition both front ends share.
//!
//! It wires the supervisor to the SQLite store and the Claude CLI launcher, and holds
//! every use case a front end calls: start, interrupt, resume, list, show, transcripts,
//! delete, and the full database check (`doctor`). It makes this process a good citizen
//! among others sharing the database: it holds an owner lease while it owns runs, carries
//! out control requests aimed at its sessions, asks other owners through the mailbox,
//! recovers sessions whose owner died (killing their recorded processes first), and stops
//! its sessions if its database file is deleted or replaced.
//!
//! Invariants: no lifecycle decision is made here (that is the domain's); front ends hold
//! none either. Every session this process starts is owned by it until it settles.

pub mod client;
pub mod config;
pub mod daemon;
pub mod database_file;
pub mod doctor;
pub mod error;
#[cfg(test)]
mod fake_control;
pub mod mailbox;
#[cfg(test)]
mod mailbox_tests;
pub mod owner;
pub mod preflight;
pub mod processes;
pub mod protocol;
pub mod recovery;
mod runtime;
pub mod slots;
mod wiring;

pub use config::{default_db_path, RuntimeConfig};
pub use doctor::doctor;
pub use error::RuntimeError;
pub use runtime::{InterruptOutcome, Runtime, RuntimeParts, SessionDetails};
pub use wiring::open;
