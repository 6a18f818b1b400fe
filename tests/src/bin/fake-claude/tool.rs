//! The Bash tool: `/bin/bash -c <cmd>` in a session of its own, like the real CLI's.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// How long output is still read after the tool exited (a background child may hold it).
const OUTPUT_GRACE: Duration = Duration::from_millis(200);

/// A running tool.
#[derive(Debug)]
pub struct Tool {
    child: Child,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
}

/// What a finished tool printed.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    /// Exit code (`128 + n` after signal `n`).
    pub code: i32,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
}

impl Tool {
    /// Starts `command` under `setsid` (util-linux: `setsid()` then exec, since the fake's
    /// child is never a group leader), so bash leads a new session and process group.
    pub fn start(command: &str, cwd: &str) -> std::io::Result<Self> {
        let mut child = Command::new("setsid")
            .args(["/bin/bash", "-c", command])
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdout = tokio::spawn(read_all(child.stdout.take()));
        let stderr = tokio::spawn(read_all(child.stderr.take()));
        Ok(Self {
            child,
            stdout,
            stderr,
        })
    }

    /// Waits for the tool to exit and collects its output.
    pub async fn finish(&mut self) -> ToolOutput {
        let code = match self.child.wait().await {
            Ok(status) => status.code().unwrap_or_else(|| {
                128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)
            }),
            Err(_) => -1,
        };
        let stdout = collect(&mut self.stdout).await;
        let stderr = collect(&mut self.stderr).await;
        ToolOutput {
            code,
            stdout,
            stderr,
        }
    }

    /// Kills the tool's whole process group and reaps bash.
    pub async fn kill(mut self) {
        if let Some(pid) = self.child.id().and_then(|pid| i32::try_from(pid).ok()) {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.child.wait().await;
        self.stdout.abort();
        self.stderr.abort();
    }

    /// Leaves the tool running (what 2.1.197 does on SIGINT, SIGTERM and SIGHUP).
    pub fn orphan(self) {
        self.stdout.abort();
        self.stderr.abort();
    }
}

async fn read_all(pipe: Option<impl AsyncRead + Unpin>) -> Vec<u8> {
    let mut bytes = Vec::new();
    if let Some(mut pipe) = pipe {
        let _ = pipe.read_to_end(&mut bytes).await;
    }
    bytes
}

async fn collect(reader: &mut JoinHandle<Vec<u8>>) -> String {
    match tokio::time::timeout(OUTPUT_GRACE, reader).await {
        Ok(Ok(bytes)) => String::from_utf8_lossy(&bytes).trim_end().to_owned(),
        _ => String::new(),
    }
}
