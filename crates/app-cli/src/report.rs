//! How a failed command is told: the error's message, then a hint naming the `lulu`
//! command or flag that helps. The runtime's messages name no front end's commands or
//! flags; the hints for its error codes live here, so each front end phrases its own.

use lulu_domain::ports::StoreError;
use lulu_domain::SupervisorError;
use lulu_runtime::error::{store_code, supervisor_code};
use lulu_runtime::RuntimeError;

/// What `lulu` says about a failed command.
#[derive(Debug, PartialEq, Eq)]
pub struct Report {
    /// The error and its causes, each said once.
    pub message: String,
    /// What to type next, when the CLI knows.
    pub hint: Option<String>,
}

/// The report on `error`.
pub fn report(error: &anyhow::Error) -> Report {
    Report {
        message: message(error),
        hint: hint(error),
    }
}

/// The error and its causes joined by `: `, leaving out a cause whose text is already
/// said (an error that keeps its typed source often quotes it too).
fn message(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

/// The hint for the first error in `error`'s chain that has a code.
fn hint(error: &anyhow::Error) -> Option<String> {
    error.chain().find_map(|cause| {
        if let Some(runtime) = cause.downcast_ref::<RuntimeError>() {
            if let RuntimeError::NoAnswer { id, .. } = runtime {
                return Some(format!("`lulu show {}` shows its state", id.short()));
            }
            return hint_for_code(runtime.code()).map(str::to_owned);
        }
        let code = cause
            .downcast_ref::<SupervisorError>()
            .map(supervisor_code)
            .or_else(|| cause.downcast_ref::<StoreError>().map(store_code))?;
        hint_for_code(code).map(str::to_owned)
    })
}

/// The CLI's hint for a runtime error code, if it has one.
fn hint_for_code(code: &str) -> Option<&'static str> {
    Some(match code {
        "no_data_dir" => "pass --db PATH or set LULU_DB",
        "not_lulu_database" | "newer_database" => "--db PATH or LULU_DB picks another file",
        "database_damaged" => {
            "`lulu doctor` shows what is wrong; --db PATH or LULU_DB picks another file"
        }
        "unknown_id" | "not_found" => "`lulu list` shows the sessions and their ids",
        "daemon_version" => "`lulu daemon restart` starts a daemon of this version (add --force while runs are live)",
        "daemon" => "`lulu daemon status` says whether it runs; its log is beside the database",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use lulu_domain::SessionId;

    use super::*;

    fn id() -> SessionId {
        "3f2c9a1e-0000-4000-8000-000000000001"
            .parse()
            .expect("a valid id")
    }

    /// The report as `lulu` prints it, without colour.
    fn told(error: &anyhow::Error) -> String {
        let Report { message, hint } = report(error);
        match hint {
            Some(hint) => format!("lulu: error: {message}\nlulu: hint: {hint}"),
            None => format!("lulu: error: {message}"),
        }
    }

    #[test]
    fn errors_are_told_with_the_cli_hint_for_their_code() {
        let errors = [
            anyhow::Error::from(RuntimeError::NoDataDir),
            RuntimeError::UnknownId("3f2c".into()).into(),
            RuntimeError::Supervisor(SupervisorError::NotFound(id())).into(),
            RuntimeError::Store(StoreError::Damaged {
                path: "/data/lulu.db".into(),
                problem: "database disk image is malformed".into(),
            })
            .into(),
            RuntimeError::NoAnswer {
                id: id(),
                waited: Duration::from_secs(15),
            }
            .into(),
            anyhow::Error::from(SupervisorError::Store(StoreError::Full {
                message: "/data/lulu.db: database or disk is full".into(),
            }))
            .context("cannot start the session"),
        ];

        let text: Vec<String> = errors.iter().map(told).collect();

        insta::assert_snapshot!(text.join("\n\n"));
    }

    #[test]
    fn a_cause_already_quoted_by_its_error_is_said_once() {
        /// An error that quotes its source in its message, as the store's open errors do.
        #[derive(Debug)]
        struct Quoting {
            path: PathBuf,
            source: std::io::Error,
        }
        impl std::fmt::Display for Quoting {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "cannot read {}: {}", self.path.display(), self.source)
            }
        }
        impl std::error::Error for Quoting {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.source)
            }
        }
        let error = anyhow::Error::from(Quoting {
            path: "/data".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        })
        .context("cannot start");

        assert_eq!(
            report(&error).message,
            "cannot start: cannot read /data: no such file"
        );
    }
}
