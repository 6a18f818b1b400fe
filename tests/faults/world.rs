//! One scenario's world: the whole-system [`Sandbox`] plus a marker every process it
//! starts carries in its environment, the record of the lines fake-claude emitted, and
//! the process lookups the scenarios need. Dropping it kills everything marked.

use std::ops::Deref;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use serde_json::Value;

use crate::harness::{self, Sandbox};

/// The environment variable that marks every process of one test.
pub const MARKER_VAR: &str = "LULU_FAULT_MARKER";

/// A sandbox whose processes are all marked.
pub struct World {
    sandbox: Sandbox,
    marker: String,
    /// Where fake-claude records every stdout line it wrote (`FAKE_CLAUDE_EMITTED`).
    pub emitted: PathBuf,
}

impl World {
    /// A fresh world with fake-claude ticking every 100 ms.
    pub fn new() -> Self {
        Self::with_env(&[])
    }

    /// A fresh world with extra environment for every `lulu` (and so every agent).
    pub fn with_env(env: &[(&str, &str)]) -> Self {
        Self::around(Sandbox::new(), env)
    }

    /// A world made of `sandbox`, with extra environment for every `lulu`.
    pub fn around(sandbox: Sandbox, env: &[(&str, &str)]) -> Self {
        let marker = uuid::Uuid::new_v4().to_string();
        let mut sandbox = sandbox.env(MARKER_VAR, &marker);
        let emitted = sandbox.claude_config.with_file_name("emitted.jsonl");
        sandbox = sandbox.env(
            "FAKE_CLAUDE_EMITTED",
            emitted.to_str().expect("temp paths are UTF-8"),
        );
        for (name, value) in env {
            sandbox = sandbox.env(name, value);
        }
        Self {
            sandbox,
            marker,
            emitted,
        }
    }

    /// Every live process carrying this world's marker.
    pub fn marked(&self) -> Vec<i32> {
        harness::processes_with_env(&format!("{MARKER_VAR}={}", self.marker))
    }

    /// The daemons (`lulu daemon`) of this world that are alive: the owners of its
    /// detached runs.
    pub fn daemons(&self) -> Vec<i32> {
        self.marked()
            .into_iter()
            .filter(|pid| harness::is_daemon(*pid))
            .collect()
    }

    /// `lulu list --json`.
    pub fn list(&self) -> Vec<Value> {
        let listed: Value =
            serde_json::from_str(&self.ok(&["list", "--json"])).expect("list --json is JSON");
        listed.as_array().expect("list --json is an array").clone()
    }

    /// Kills every marked process (and its group) and reaps what comes back to us.
    pub fn kill_everything(&self) {
        let began = Instant::now();
        loop {
            let left = self.marked();
            if left.is_empty() || began.elapsed() > Duration::from_secs(5) {
                break;
            }
            for pid in left {
                let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
                let _ = kill(Pid::from_raw(pid), Signal::SIGCONT);
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            harness::reap_orphans();
            std::thread::sleep(Duration::from_millis(10));
        }
        harness::reap_orphans();
    }
}

impl Deref for World {
    type Target = Sandbox;

    fn deref(&self) -> &Sandbox {
        &self.sandbox
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.kill_everything();
    }
}

/// Whether the process has exited and waits to be reaped.
pub fn is_zombie(pid: i32) -> bool {
    harness::stat(pid).is_some_and(|(_, state)| state == 'Z')
}

/// Sends `signal` to one process; a process already gone is fine.
pub fn signal(pid: i32, signal: Signal) {
    let _ = kill(Pid::from_raw(pid), signal);
}

/// SIGKILLs a process and waits until it is gone (reaping it if it came back to us).
pub fn kill_and_wait(pid: i32) {
    signal(pid, Signal::SIGKILL);
    harness::wait_until("the killed process is gone", || {
        harness::reap_orphans();
        !harness::exists(pid) || is_zombie(pid)
    });
}

impl World {
    /// Waits up to `limit` for a spawned `lulu`; `Err` (with what it printed) if it had
    /// to be killed because it did not finish in time.
    pub fn finish_within(
        &self,
        mut child: std::process::Child,
        limit: Duration,
    ) -> Result<std::process::Output, std::process::Output> {
        let began = Instant::now();
        while child.try_wait().expect("lulu can be waited for").is_none() {
            if began.elapsed() > limit {
                signal(child.id().cast_signed(), Signal::SIGKILL);
                return Err(self.finish(child));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(self.finish(child))
    }
}
