//! [`CliLauncher`]: the [`AgentLauncher`] that runs the Claude Code CLI.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use async_trait::async_trait;
use lulu_domain::ports::{AgentLauncher, LaunchError, RunHandle, RunSpec};
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;
use tracing::Instrument;

use crate::argv::compose_argv;
use crate::binary::resolve_binary;
use crate::cgroup::RunCgroup;
use crate::config::CliLauncherConfig;
use crate::control::CliRunControl;
use crate::lines::BoundedLines;
use crate::owner::{Owner, RUN_ENV};
use crate::redact::Redactor;
use crate::sampler::TreeSampler;
use crate::stderr::drain_stderr;
use crate::stdin::{spawn_stdin_writer, user_line};
use crate::tree::group_leader_record;
use crate::working_dir::check_working_dir;

/// How many updates may wait unread before the owner pauses reading stdout.
const UPDATE_BUFFER: usize = 256;

/// Launches `claude` runs as child processes, one owner task each.
#[derive(Debug, Clone)]
pub struct CliLauncher {
    config: Arc<CliLauncherConfig>,
}

impl CliLauncher {
    /// A launcher with these settings.
    pub fn new(config: CliLauncherConfig) -> Self {
        Self {
            config: Arc::new(config),
        }
    }

    /// Its settings.
    pub fn config(&self) -> &CliLauncherConfig {
        &self.config
    }

    fn child_env_value(&self, name: &str) -> Option<std::ffi::OsString> {
        self.config
            .env
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .or_else(|| std::env::var_os(name))
    }
}

#[async_trait]
impl AgentLauncher for CliLauncher {
    /// Checks the cwd and binary, spawns the agent in a process group of its own, writes the
    /// prompt on its stdin and hands the child to its owner task.
    ///
    /// # Errors
    /// [`LaunchError::WorkingDirMissing`] / [`LaunchError::WorkingDirUnusable`] or
    /// [`LaunchError::BinaryNotFound`] / [`LaunchError::BinaryNotRunnable`] (checked before
    /// spawning), [`LaunchError::SpawnFailed`] when the OS refuses.
    #[tracing::instrument(skip_all, fields(session_id = %spec.session_id, run_id = %spec.run_id))]
    async fn launch(&self, spec: RunSpec) -> Result<RunHandle, LaunchError> {
        let cwd = Path::new(spec.cwd.as_str());
        check_working_dir(cwd)?;
        let search_path = self.child_env_value("PATH");
        let binary = resolve_binary(&self.config.binary, search_path.as_deref())?;
        let argv = compose_argv(&spec);
        tracing::trace!(?binary, ?argv, "spawning the agent");
        let spawn_failed = |error: std::io::Error| LaunchError::SpawnFailed {
            binary: binary.display().to_string(),
            message: error.to_string(),
        };
        // Registered in the same critical section as the spawn: the adopted-children
        // reaper never takes an agent's exit status from its owner task.
        let mut agents = crate::reaper::agents();
        let mut child = Command::new(&binary)
            .args(&argv)
            .current_dir(cwd)
            .envs(self.config.env.iter().map(|(name, value)| (name, value)))
            .env(RUN_ENV, spec.run_id.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(false)
            .spawn()
            .map_err(spawn_failed)?;
        if let Some(pid) = child.id() {
            agents.insert(pid);
        }
        drop(agents);
        let missing_pipe =
            || spawn_failed(std::io::Error::other("a standard pipe was not created"));
        let pid = child.id().ok_or_else(missing_pipe)?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(missing_pipe());
        };
        let root = group_leader_record(pid);
        tracing::info!(pid, mode = ?spec.mode, "agent started");
        let cgroup = RunCgroup::for_run(spec.run_id, pid);
        let tracking =
            TreeSampler::shared().register(spec.run_id, root, self.config.tree_poll_interval);

        let stdin = spawn_stdin_writer(stdin);
        // The writer task closes stdin on its own if the agent exits before reading this.
        let _ = stdin.send(user_line(spec.prompt.as_str()));
        let (updates_tx, updates) = mpsc::channel(UPDATE_BUFFER);
        let (commands_tx, commands) = mpsc::unbounded_channel();
        let redactor =
            Redactor::from_env(std::env::vars_os().chain(self.config.env.iter().cloned()));
        let owner = Owner {
            session_id: spec.session_id,
            run_id: spec.run_id,
            child,
            root,
            stdout: FramedRead::new(stdout, BoundedLines::new(self.config.max_line_bytes)),
            stdin: Some(stdin),
            keep_open: spec.options.keep_open,
            stderr: tokio::spawn(drain_stderr(stderr, self.config.stderr_tail_bytes)),
            commands,
            updates: updates_tx,
            config: Arc::clone(&self.config),
            redactor,
            tracking,
            cgroup,
        };
        tokio::spawn(owner.run().in_current_span());
        Ok(RunHandle {
            pid,
            updates,
            control: Arc::new(CliRunControl::new(commands_tx)),
        })
    }
}
