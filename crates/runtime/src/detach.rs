//! Detached runs: a background `lulu` process, in a session of its own and free of the
//! terminal, owns the run; the caller gets the session id and returns at once.
//!
//! Protocol: the caller starts `<lulu> own-detached` with stdin and stdout on pipes and
//! writes the request as JSON on its stdin, then closes it (a request travels on a pipe,
//! not in argv, where one string may hold at most 128 KiB and prompts can be longer).
//! The child reads stdin to its end, starts or resumes the session, then writes exactly
//! one line, `ok <session id>` or `error <message>`, and never writes to stdout again.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use lulu_domain::{AgentOptions, SessionId};

use crate::error::RuntimeError;

/// What a detached owner is asked to do.
#[allow(clippy::large_enum_variant)] // built once per process, never stored in bulk
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum DetachedRequest {
    /// Start a new session.
    Start {
        /// Optional title.
        title: Option<String>,
        /// Absolute working directory.
        cwd: String,
        /// The prompt.
        prompt: String,
        /// Agent options.
        options: AgentOptions,
    },
    /// Resume a settled session.
    Resume {
        /// The session.
        id: SessionId,
        /// The follow-up prompt.
        prompt: String,
    },
}

/// Where detached owners write their diagnostics: beside the database.
pub fn owner_log_path(db_path: &Path) -> PathBuf {
    let mut name = db_path.file_name().unwrap_or_default().to_os_string();
    name.push(".owners.log");
    db_path.with_file_name(name)
}

/// Starts a detached owner for `request` and returns the session id it reports.
///
/// `lulu` is this program's own executable; `env` is added to the child's environment
/// (the caller passes its resolved `LULU_DB` and `LULU_CLAUDE_BIN` so the child agrees).
///
/// # Errors
/// [`RuntimeError::Detach`] when the child cannot be started or reports an error.
pub fn spawn_owner(
    lulu: &Path,
    request: &DetachedRequest,
    env: &[(&str, std::ffi::OsString)],
    log: &Path,
) -> Result<SessionId, RuntimeError> {
    let json =
        serde_json::to_string(request).map_err(|error| RuntimeError::Detach(error.to_string()))?;
    let log_file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|error| {
            RuntimeError::Detach(format!(
                "cannot open the owner log {}: {error}",
                log.display()
            ))
        })?;
    let mut command = Command::new(lulu);
    command
        .arg("own-detached")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file));
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .spawn()
        .map_err(|error| RuntimeError::Detach(format!("cannot run {}: {error}", lulu.display())))?;
    let mut stdin = child.stdin.take().expect("stdin was piped");
    // A child that dies before reading it says why on stdout or in the log, read below.
    let written = stdin.write_all(json.as_bytes());
    drop(stdin);
    if let Err(error) = &written {
        tracing::debug!(%error, "the background process did not take the whole request");
    }
    let stdout = child.stdout.take().expect("stdout was piped");
    let mut line = String::new();
    let read = BufReader::new(stdout).read_line(&mut line);
    let line = line.trim_end();
    if let Some(id) = line.strip_prefix("ok ") {
        // The child lives on; it is reaped by whoever inherits it once this process exits.
        return id.parse().map_err(|_| {
            RuntimeError::Detach(format!("the background process reported `{line}`"))
        });
    }
    // It failed: it exits on its own right after reporting, so reap it here.
    let _ = child.wait();
    match (read, line.strip_prefix("error ")) {
        (_, Some(message)) => Err(RuntimeError::Detach(message.to_owned())),
        (Err(error), None) => Err(RuntimeError::Detach(error.to_string())),
        (Ok(_), None) => Err(RuntimeError::Detach(format!(
            "the background process exited without reporting a session; see {}",
            log.display()
        ))),
    }
}

/// Reads the request a detached owner was given on `input` (its stdin) to the end.
///
/// # Errors
/// [`RuntimeError::Detach`] when it cannot be read or is not a request.
pub fn read_request(mut input: impl Read) -> Result<DetachedRequest, RuntimeError> {
    let mut json = String::new();
    input
        .read_to_string(&mut json)
        .map_err(|error| RuntimeError::Detach(format!("cannot read the request: {error}")))?;
    serde_json::from_str(&json)
        .map_err(|error| RuntimeError::Detach(format!("the request is not valid JSON: {error}")))
}

/// Detaches the calling process from its terminal: a new session, no controlling tty.
///
/// # Errors
/// [`RuntimeError::Detach`] if `setsid` fails (the process already leads a group).
pub fn leave_terminal() -> Result<(), RuntimeError> {
    nix::unistd::setsid()
        .map(|_| ())
        .map_err(|error| RuntimeError::Detach(format!("setsid failed: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_log_sits_beside_the_database() {
        assert_eq!(
            owner_log_path(Path::new("/data/lulu/lulu.db")),
            PathBuf::from("/data/lulu/lulu.db.owners.log")
        );
    }

    #[test]
    fn requests_travel_as_tagged_json() {
        let request = DetachedRequest::Resume {
            id: lulu_domain::testing::session_id(1),
            prompt: "go on".into(),
        };
        let json = serde_json::to_string(&request).unwrap();
        assert_eq!(
            json,
            r#"{"do":"resume","id":"a0000001-0000-0000-0000-000000000000","prompt":"go on"}"#
        );
        assert_eq!(read_request(json.as_bytes()).unwrap(), request);
    }
}
