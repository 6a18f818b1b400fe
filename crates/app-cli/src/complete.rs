//! Shell completion through clap's dynamic engine: the script `lulu completions SHELL`
//! prints calls `lulu` back (`LULU_COMPLETE=SHELL lulu -- WORDS...`) on every Tab, so session
//! ids come from the database, each with its title as the description.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::PathBuf;

use clap::CommandFactory as _;
use clap_complete::engine::CompletionCandidate;
use clap_complete::env::{Bash, EnvCompleter, Fish, Zsh};
use clap_complete::CompleteEnv;

use lulu_runtime::config::Overrides;
use lulu_runtime::RuntimeConfig;

use crate::args::{Cli, Shell};
use crate::render::safe::safe_line;

/// The variable that turns a run of `lulu` into a completion request.
const VARIABLE: &str = "LULU_COMPLETE";
/// The most ids offered at once (the newest that match).
const MOST_IDS: usize = 50;
/// The widest title shown beside an id.
const TITLE_MAX: usize = 60;

/// Answers the shell and exits when this run is a completion request; returns otherwise.
/// It must run before anything is written to stdout.
pub fn answer_if_asked() {
    CompleteEnv::with_factory(Cli::command)
        .var(VARIABLE)
        .complete();
}

/// `lulu completions SHELL`: the script that has the shell ask `lulu` on every Tab.
///
/// # Errors
/// The script cannot be written.
pub fn write_script(shell: Shell, out: &mut dyn Write) -> std::io::Result<()> {
    let completer: &dyn EnvCompleter = match shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
    };
    let program = program_path();
    completer.write_registration(VARIABLE, "lulu", "lulu", &program.to_string_lossy(), out)
}

/// How the script calls `lulu` back: as it was called here (a bare name is found on
/// `PATH` then too; a relative path is made absolute).
fn program_path() -> PathBuf {
    let called = std::env::args_os()
        .next()
        .map_or_else(|| PathBuf::from("lulu"), PathBuf::from);
    if called.components().count() > 1 {
        std::path::absolute(&called).unwrap_or(called)
    } else {
        called
    }
}

/// The sessions whose id starts with what was typed, newest first, with their titles.
/// Nothing when the database does not exist (a Tab never creates one) or cannot be read.
pub fn session_ids(typed: &OsStr) -> Vec<CompletionCandidate> {
    let Some(typed) = typed.to_str() else {
        return Vec::new();
    };
    let Ok(config) = RuntimeConfig::from_env_overlaid(&Overrides {
        db_path: db_flag(std::env::args_os()),
        claude_bin: None,
    }) else {
        return Vec::new();
    };
    if !config.db_path.exists() {
        return Vec::new();
    }
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Vec::new();
    };
    let sessions = runtime.block_on(async {
        let lulu = lulu_runtime::open(config).await.ok()?;
        lulu.sessions_starting_with(typed, MOST_IDS).await.ok()
    });
    sessions
        .unwrap_or_default()
        .into_iter()
        .map(|session| {
            let title = crate::render::text::cut(session.title.as_str(), TITLE_MAX);
            CompletionCandidate::new(session.id.to_string())
                .help(Some(safe_line(&title).into_owned().into()))
        })
        .collect()
}

/// The `--db` of the command line being completed (`--db PATH` or `--db=PATH`), if given.
fn db_flag(words: impl IntoIterator<Item = OsString>) -> Option<PathBuf> {
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        if word == "--db" {
            return words.next().map(PathBuf::from);
        }
        if let Some(path) = word.to_str().and_then(|text| text.strip_prefix("--db=")) {
            return Some(PathBuf::from(path));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_of_the_line_being_completed_is_read() {
        let flag = |words: &[&str]| db_flag(words.iter().map(OsString::from));
        let path = Some(PathBuf::from("/tmp/x.db"));
        assert_eq!(
            flag(&["lulu", "--", "lulu", "--db", "/tmp/x.db", "show", "ab"]),
            path
        );
        assert_eq!(
            flag(&["lulu", "--", "lulu", "show", "--db=/tmp/x.db", ""]),
            path
        );
        assert_eq!(flag(&["lulu", "--", "lulu", "show", "ab"]), None);
    }

    #[test]
    fn each_shell_gets_a_script_that_calls_lulu_back() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut script = Vec::new();
            write_script(shell, &mut script).unwrap();
            let script = String::from_utf8(script).unwrap();
            assert!(script.contains("LULU_COMPLETE"), "{shell:?}: {script}");
        }
    }
}
