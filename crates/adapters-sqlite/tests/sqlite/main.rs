//! Tests of the SQLite store on real files in temp dirs, with real child processes (this
//! test binary re-executed in a child role) for concurrency and crash safety.

mod approvals;
mod changes;
mod child;
mod concurrency;
mod control;
mod control_port;
mod crash;
mod disk_full;
mod examine;
mod file_locks;
mod filters;
mod fixture;
mod guards;
mod leases;
mod migrations;
mod replaced_file;
mod round_trip;
