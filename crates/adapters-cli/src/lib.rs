//! Lulu's process adapter: runs the Claude Code CLI (`claude`) as child processes.
//!
//! [`CliLauncher`] implements the domain's [`AgentLauncher`](lulu_domain::ports::AgentLauncher):
//! it composes argv ([`compose_argv`]), spawns the CLI in a process group of its own in
//! the session's cwd, writes the prompt as one stream-json `user` line on stdin, parses
//! stdout into [`AgentEvent`](lulu_domain::AgentEvent)s, stops runs on request
//! (gracefully through the stdin control protocol, forcefully by killing every recorded
//! process group, and the run's cgroup where a delegated cgroup v2 subtree exists) and
//! classifies the exit. One [`TreeSampler`] per process records every run's descendants
//! in one pass per tick, on a thread of its own. Every rule comes from measuring the real CLI
//! (`../shared/CLAUDE_CLI.md`).
//!
//! Invariants:
//! - argv vectors only: user text never reaches a shell.
//! - One task owns each child; nothing else waits on it; every child is reaped, and its
//!   `Exited` update is sent only after the reap and after its recorded descendants were
//!   killed.
//! - Memory per run is bounded whatever the agent prints (line cap, stderr tail).
//! - A process is signalled only after its pid *and* start time were checked in `/proc`.
//! - Prompts are never logged at info or above; environment values never at all.
//! - It never decides a session's status: it reports events and classified exits.

mod argv;
mod binary;
mod cgroup;
mod changed;
mod classify;
mod config;
mod control;
mod kill;
mod launcher;
mod lines;
mod owner;
mod parse;
mod reaper;
mod redact;
mod sampler;
mod stderr;
mod stdin;
mod tree;
mod walk;
mod working_dir;

pub use argv::compose_argv;
pub use binary::resolve_binary;
pub use cgroup::NoDelegation;
pub use classify::{classify, Ending, ResultSummary, Termination};
pub use config::{CliLauncherConfig, ProcessObserver};
pub use control::{CliRunControl, OwnerCommand};
pub use kill::{become_child_subreaper, kill_recorded_groups, SubreaperError};
pub use launcher::CliLauncher;
pub use lines::{BoundedLines, Line};
pub use owner::RUN_ENV;
pub use parse::{parse_line, parse_output, Output};
pub use reaper::reap_adopted_children;
pub use sampler::{RunTracking, TreeSampler};
pub use tree::{
    descendants, group_leader_record, process_gone, process_start_time, processes_with_env,
    read_stat, still_running, ProcStat,
};
pub use walk::WalkMode;
pub use working_dir::check_working_dir;

/// Every living process carrying run `run_id`'s marker (`LULU_RUN_ID=<run id>`), wherever
/// it lives now: the agent and everything it started, recorded or not.
pub fn processes_of_run(run_id: lulu_domain::RunId) -> Vec<lulu_domain::ProcessRecord> {
    processes_with_env(&format!("{RUN_ENV}={run_id}"))
        .iter()
        .map(ProcStat::record)
        .collect()
}
