//! The Agent SDK's Node host (`bench/sdk/host.mjs`), driven one command line at a time.

use std::io::{BufRead as _, BufReader, Lines, Write as _};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use anyhow::{bail, Context as _};

use crate::world::{Tools, World};

/// A running Node host of the SDK, pointed at the world's agent binary.
pub struct SdkHost {
    child: Child,
    stdin: ChildStdin,
    answers: Lines<BufReader<ChildStdout>>,
}

impl SdkHost {
    /// Starts the host in `world` (its environment and working directory).
    pub fn start(tools: &Tools, world: &World) -> anyhow::Result<Self> {
        let sdk = tools.sdk.clone().map_err(anyhow::Error::msg)?;
        let mut child = Command::new("node")
            .arg(tools.root.join("bench/sdk/host.mjs"))
            .envs(world.env().iter().map(|(key, value)| (key, value)))
            .env("LULU_BENCH_SDK", sdk)
            .env("LULU_BENCH_CLI", &world.agent_bin)
            .current_dir(world.work_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("node runs the SDK host")?;
        let stdin = child.stdin.take().context("its stdin")?;
        let stdout = child.stdout.take().context("its stdout")?;
        Ok(Self {
            child,
            stdin,
            answers: BufReader::new(stdout).lines(),
        })
    }

    /// The host's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends one command and reads its answer; an `error` answer is an error.
    pub fn ask(&mut self, command: &str) -> anyhow::Result<serde_json::Value> {
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        let line = self.answers.next().context("the SDK host exited")??;
        let answer: serde_json::Value = serde_json::from_str(&line)?;
        if let Some(error) = answer["error"].as_str() {
            bail!("the SDK host: {error}");
        }
        Ok(answer)
    }

    /// Sends a command whose answer is `{"ms": n}`; n.
    pub fn ask_ms(&mut self, command: &str) -> anyhow::Result<f64> {
        self.ask(command)?["ms"]
            .as_f64()
            .context("the SDK host answered without ms")
    }
}

impl Drop for SdkHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
