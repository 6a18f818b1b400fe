//! Lulu's integration tests: one binary, real processes, no network.
//!
//! Every test runs `fake-claude` (this package's binary) in a sandbox of its own (temp
//! `HOME`, `CLAUDE_CONFIG_DIR`, `TMPDIR`, cwd), reaps everything it starts, and checks
//! that no process it started is left (see `fixtures`).

mod bounded;
mod fake_signals;
mod fixtures;
mod launch;
mod stop;
