//! Lulu's storage adapter: every session, run, transcript line, owner lease and control
//! request lives in one SQLite file that several Lulu processes share at once.
//!
//! [`SqliteStore`] implements the domain's [`SessionStore`](lulu_domain::ports::SessionStore)
//! port, plus what cooperating processes need: owner leases, recorded processes, the
//! control mailbox and a change feed.
//!
//! Invariants:
//! - Nothing a caller was told is stored is ever lost, and a crash at any instant leaves a
//!   consistent file: WAL, `synchronous = NORMAL`, and every write (one lifecycle
//!   transition, one transcript batch) is all or nothing: one IMMEDIATE transaction, or a
//!   savepoint of one that transcript batches of several runs share (a group commit); nobody is
//!   told a write is stored before its transaction is committed.
//! - A file this build does not understand (not SQLite, not Lulu's, or a newer schema) is
//!   refused with its path in the message and is never written, migrated down, deleted or
//!   overwritten. Opening checks only what is cheap; damage SQLite meets at any time is
//!   reported as a damaged database naming the file, and [`examine`] (`lulu doctor`) runs
//!   the full check, read-only.
//! - The schema only moves forward, one migration per transaction (`PRAGMA user_version`).
//! - The file is never opened outside SQLite (closing any descriptor of it would drop the
//!   process's POSIX locks, on which SQLite's WAL safety rests).
//! - A store notices when its file was deleted or replaced ([`SqliteStore::check_file`]).
//! - Database work runs on the store's own threads; async callers never block on SQLite.
//! - Decisions stay in the domain: this crate converts, stores and reads back. It never
//!   changes a session's status on its own.

mod changes;
mod codec;
mod control;
mod control_port;
mod coordination;
mod error;
mod events;
mod examine;
mod file_identity;
mod group;
mod leases;
mod migrations;
mod open;
mod options;
mod processes;
mod sessions;
mod store;
mod usage;
mod worker;

pub use changes::{ChangeCursor, Changes, TranscriptProgress};
pub use control::{ControlAction, ControlAnswer, ControlRequest, ControlRequestId};
pub use error::OpenError;
pub use examine::{examine, DatabaseReport, OrphanedRows, RowCounts, MAX_PROBLEMS};
pub use leases::{LeaseRenewal, OwnerLease};
pub use migrations::{APPLICATION_ID, SCHEMA_VERSION};
pub use options::{default_db_path, StoreOptions, DEFAULT_FILE_NAME};
pub use store::SqliteStore;
