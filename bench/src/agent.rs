//! The agent run directly, as Lulu runs it (the same argv and stdin lines), with no
//! supervisor: the baseline of the run measures.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use lulu_domain::ports::RunSpec;
use lulu_domain::{AgentOptions, ConversationMode, Prompt, RunId, SessionId, WorkingDir};

/// How a direct run went.
#[derive(Debug, Clone, Copy)]
pub struct DirectRun {
    /// Spawn to exit.
    pub took: Duration,
    /// Lines the agent wrote on stdout.
    pub lines: u64,
}

/// Runs `agent` on `prompt` as a new conversation: the user line on stdin, every stdout
/// line read (each handed to `on_line`), stdin closed once the result line came, then the
/// agent reaped.
pub fn run_direct(
    mut agent: Command,
    prompt: &str,
    mut on_line: impl FnMut(&str),
) -> anyhow::Result<DirectRun> {
    // Lulu's own argv for a new conversation with no options.
    let spec = RunSpec {
        session_id: SessionId::from_uuid(uuid::Uuid::new_v4()),
        run_id: RunId::from_uuid(uuid::Uuid::new_v4()),
        cwd: WorkingDir::parse("/")?,
        prompt: Prompt::parse(prompt)?,
        options: AgentOptions::default(),
        mode: ConversationMode::New,
    };
    let argv = lulu_adapters_cli::compose_argv(&spec);
    let started = Instant::now();
    let mut child = agent.args(argv).spawn().context("the agent starts")?;
    let mut stdin = child.stdin.take().context("its stdin")?;
    let stdout = child.stdout.take().context("its stdout")?;
    let user = serde_json::json!({
        "type": "user",
        "message": { "role": "user", "content": prompt },
        "parent_tool_use_id": null,
        "session_id": "",
    });
    writeln!(stdin, "{user}")?;
    stdin.flush()?;
    let mut stdin = Some(stdin);
    let mut lines = 0;
    let mut saw_result = false;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        lines += 1;
        on_line(&line);
        if line.contains(r#""type":"result""#) {
            saw_result = true;
            stdin = None;
        }
    }
    drop(stdin);
    let status = child.wait()?;
    if !saw_result {
        bail!("the agent exited ({status}) without a result line");
    }
    Ok(DirectRun {
        took: started.elapsed(),
        lines,
    })
}
