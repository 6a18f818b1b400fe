//! The command line interface. Names are an interface: scripts and the desktop app rely on them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCompleter;

pub use crate::filter::FilterArgs;

/// Run many Claude Code sessions side by side: start, watch, interrupt and resume them.
#[derive(Debug, Parser)]
#[command(name = "lulu", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// The session database [default: `LULU_DB`, else lulu.db in the data directory].
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// The Claude Code CLI to run [default: `LULU_CLAUDE_BIN`, else claude].
    #[arg(long, global = true, value_name = "PATH")]
    pub claude_bin: Option<PathBuf>,

    /// More diagnostics on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// What to do (none: the newest sessions and the commands to start with).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a session and stream its transcript (Ctrl-C interrupts it).
    Run(RunArgs),
    /// List sessions, newest first.
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Show every field of a session and its run history.
    Show(ShowArgs),
    /// Print a session's stored transcript, or follow it live.
    Logs(LogsArgs),
    /// Interrupt a running session and wait for the outcome.
    Interrupt(InterruptArgs),
    /// Allow what a session that needs approval asks (the oldest pending request).
    Approve(ApproveArgs),
    /// Refuse what a session that needs approval asks; the agent carries on, or stops with --stop.
    Deny(DenyArgs),
    /// Send a follow-up message to a session's live run.
    Send(SendArgs),
    /// End a kept-open session that is idle between turns.
    Close(CloseArgs),
    /// Continue a session's conversation with a follow-up prompt.
    Resume(ResumeArgs),
    /// Delete a session with its runs and transcript.
    Rm(RmArgs),
    /// Sum cost, tokens, turns and sessions, in all or by day, directory or model.
    Stats(StatsArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Check the whole database: integrity, row counts, orphaned rows, WAL size.
    Doctor(DoctorArgs),
    /// Run the daemon that owns this database's runs in the foreground, or manage it.
    Daemon(DaemonArgs),
}

/// The agent options a run is launched with that a resume may change for its run.
#[derive(Debug, Clone, Default, Args)]
pub struct RunOptionArgs {
    /// Model for the agent (passed as --model).
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// Permission mode (passed as --permission-mode).
    #[arg(long, value_name = "MODE")]
    pub permission_mode: Option<String>,
    /// A tool the agent may use without asking (repeatable).
    #[arg(long = "allowed-tools", value_name = "TOOL")]
    pub allowed_tools: Vec<String>,
    /// A tool the agent must not use (repeatable).
    #[arg(long = "disallowed-tools", value_name = "TOOL")]
    pub disallowed_tools: Vec<String>,
    /// Stop after this many agent turns.
    #[arg(long, value_name = "N")]
    pub max_turns: Option<u32>,
}

/// Options passed through to the agent.
#[derive(Debug, Clone, Default, Args)]
pub struct AgentArgs {
    /// The options a resume may change too.
    #[command(flatten)]
    pub run: RunOptionArgs,
    /// Text appended to the agent's system prompt.
    #[arg(long, value_name = "TEXT")]
    pub append_system_prompt: Option<String>,
    /// Another directory the agent may access (repeatable).
    #[arg(long = "add-dir", value_name = "DIR")]
    pub add_dirs: Vec<PathBuf>,
}

/// `lulu run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Directory the agent works in (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Title on the dashboard (default: the prompt's first words).
    #[arg(long, value_name = "TITLE")]
    pub title: Option<String>,
    /// Options for the agent.
    #[command(flatten)]
    pub agent: AgentArgs,
    /// Keep the run alive after each turn (the session is idle between turns) for
    /// `lulu send`, until `lulu close`, `lulu interrupt` or 30 min of idling (`LULU_IDLE_TIMEOUT`).
    #[arg(long)]
    pub keep_open: bool,
    /// Without a terminal to ask on, what to do when the agent asks permission: deny it
    /// (saying how to allow it), or wait for `lulu approve` / `lulu deny`.
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = OnApproval::Deny)]
    pub on_approval: OnApproval,
    /// Print the session id and return at once; the Lulu daemon owns the run.
    #[arg(short, long)]
    pub detach: bool,
    /// Print the stored transcript entries as JSON lines as they come, then the settled
    /// session (`"kind": "session"`).
    #[arg(long, conflicts_with = "detach")]
    pub json: bool,
    /// What the agent should do (the words are joined with spaces; options may come
    /// before or after it, and after `--` everything is prompt text: `-- -rf everything`).
    /// A lone `-` reads it from stdin.
    #[arg(required = true, num_args = 1.., value_name = "PROMPT")]
    pub prompt: Vec<String>,
}

/// `lulu list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Which sessions.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// At most this many sessions [default on a terminal: 50; otherwise all].
    #[arg(short = 'n', long, value_name = "N")]
    pub limit: Option<usize>,
    /// Every session, also on a terminal.
    #[arg(short, long, conflicts_with = "limit")]
    pub all: bool,
    /// Print JSON (an array of sessions, written as they are read).
    #[arg(long)]
    pub json: bool,
}

/// `lulu stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Which sessions.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// One row per day (of the last activity), working directory or model asked for.
    #[arg(long, value_enum, value_name = "GROUP")]
    pub by: Option<StatsBy>,
    /// Print JSON (the groups and the total).
    #[arg(long)]
    pub json: bool,
}

/// How `lulu stats` groups sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsBy {
    /// The local day of a session's last activity.
    Day,
    /// The working directory.
    Cwd,
    /// The model asked for (`--model`).
    Model,
}

/// `lulu show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Session id, or a unique prefix of at least 4 characters.
    #[arg(add = ArgValueCompleter::new(crate::complete::session_ids))]
    pub id: String,
    /// Print JSON (the session with its runs).
    #[arg(long)]
    pub json: bool,
}

/// `lulu logs`.
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // independent command line flags
pub struct LogsArgs {
    /// Session id, or a unique prefix of at least 4 characters.
    #[arg(add = ArgValueCompleter::new(crate::complete::session_ids), required_unless_present = "last")]
    pub id: Option<String>,
    /// The newest session (the one `lulu list` shows first).
    #[arg(long, conflicts_with = "id")]
    pub last: bool,
    /// Keep printing new lines until the run ends.
    #[arg(short, long)]
    pub follow: bool,
    /// Every line of tool output (by default the first few, then how many more).
    #[arg(long)]
    pub full: bool,
    /// Print one JSON object per transcript line.
    #[arg(long)]
    pub json: bool,
}

/// What a foreground run without a terminal does when the agent asks permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnApproval {
    /// Deny it at once, with a message saying how to allow it.
    Deny,
    /// Wait for an answer from `lulu approve` / `lulu deny`.
    Wait,
}

/// `lulu approve`.
#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The session (id or unique prefix of at least 4 characters).
    #[arg(add = ArgValueCompleter::new(crate::complete::session_ids))]
    pub id: String,
    /// Also allow what the agent suggests (this tool, this command) for the rest of the session.
    #[arg(long)]
    pub always: bool,
    /// The request to answer, when several are pending (default: the oldest).
    #[arg(long, value_name = "REQUEST_ID")]
    pub request: Option<String>,
    /// Print the session as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `lulu deny`.
#[derive(Debug, Args)]
pub struct DenyArgs {
    /// The session (id or unique prefix of at least 4 characters).
    #[arg(add = ArgValueCompleter::new(crate::complete::session_ids))]
    pub id: String,
    /// Why, for the agent (it reads this as the tool's error).
    #[arg(long, value_name = "TEXT")]
    pub message: Option<String>,
    /// Also end the agent's turn; the session stays resumable.
    #[arg(long)]
    pub stop: bool,
    /// The request to answer, when several are pending (default: the oldest).
    #[arg(long, value_name = "REQUEST_ID")]
    pub request: Option<String>,
    /// Print the session as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `lulu send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The session (id or unique prefix of at least 4 characters).
    #[arg(add = ArgValueCompleter::new(crate::complete::session_ids))]
    pub id: String,
    /// The message (words are joined with spaces).
    #[arg(required = true, num_args = 1.., value_name = "TEXT")]
    pub text: Vec<String>,
    /// Print the session as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `lulu close`.
#[derive(Debug, Args)]
pub struct CloseArgs {
    /// The session (id or unique prefix of at least 4 characters).
    #[arg(add = ArgValueCompleter::new(crate::complete::session_ids))]
    pub id: String,
    /// Print the session as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `lulu interrupt`.
#[derive(Debug, Args)]
pub struct InterruptArgs {
    /// Session id, or a unique prefix of at least 4 characters.
    #[arg(add = ArgValueCompleter::new(crate::complete::session_ids))]
    pub id: String,
    /// Print the outcome and the resulting session as JSON.
    #[arg(long)]
    pub json: bool,
    /// Skip the grace period: stop the agent's process tree now (the session stays
    /// resumable).
    #[arg(long)]
    pub force: bool,
}

/// `lulu resume`. The run uses the session's agent options; the ones given here replace
/// them for this run only (`lulu show ID` lists what each run used).
#[derive(Debug, Clone, Args)]
pub struct ResumeArgs {
    /// Session id, or a unique prefix of at least 4 characters (with `--last`, the
    /// prompt's first word).
    #[arg(add = ArgValueCompleter::new(crate::complete::session_ids), value_name = "ID")]
    pub id: String,
    /// Resume the newest session (the one `lulu list` shows first): every word after
    /// the options is the prompt.
    #[arg(long)]
    pub last: bool,
    /// Without a terminal to ask on, what to do when the agent asks permission: deny it
    /// (saying how to allow it), or wait for `lulu approve` / `lulu deny`.
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = OnApproval::Deny)]
    pub on_approval: OnApproval,
    /// Print the session id and return at once; the Lulu daemon owns the run.
    #[arg(short, long)]
    pub detach: bool,
    /// Print the stored transcript entries as JSON lines as they come, then the settled
    /// session (`"kind": "session"`).
    #[arg(long, conflicts_with = "detach")]
    pub json: bool,
    /// The follow-up prompt (the words are joined with spaces; after `--` everything is
    /// prompt text; a lone `-` reads it from stdin).
    #[arg(required_unless_present = "last", num_args = 1.., value_name = "PROMPT")]
    pub prompt: Vec<String>,
    /// Options for this run only, each in place of the session's (a list replaces the
    /// session's whole list); later resumes go back to the session's.
    #[command(
        flatten,
        next_help_heading = "Options for this run (each replaces the session's; `lulu show` lists what each run used)"
    )]
    pub options: RunOptionArgs,
}

impl ResumeArgs {
    /// The session to resume as typed (`None` with `--last`) and the prompt's words.
    pub fn target_and_prompt(&self) -> (Option<&str>, Vec<String>) {
        if self.last {
            let words = std::iter::once(self.id.clone())
                .chain(self.prompt.iter().cloned())
                .collect();
            (None, words)
        } else {
            (Some(&self.id), self.prompt.clone())
        }
    }
}

/// `lulu rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Session id, or a unique prefix of at least 4 characters.
    #[arg(add = ArgValueCompleter::new(crate::complete::session_ids))]
    pub id: String,
    /// Interrupt a live session first instead of refusing.
    #[arg(long)]
    pub force: bool,
}

/// `lulu doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `lulu daemon`.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Manage the daemon instead of running it.
    #[command(subcommand)]
    pub action: Option<DaemonAction>,
    /// Started on demand by another `lulu`: leave the terminal and log to the file
    /// beside the database.
    #[arg(long, hide = true)]
    pub background: bool,
}

/// What `lulu daemon` does to a running daemon.
#[derive(Debug, Subcommand)]
pub enum DaemonAction {
    /// Whether a daemon runs, its process, socket, log and live runs.
    Status {
        /// Print the status as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop the daemon (refused while it owns live runs, unless --force).
    Stop {
        /// Interrupt its live runs (gracefully; they stay resumable) and stop.
        #[arg(long)]
        force: bool,
    },
    /// Stop the daemon and start a new one (refused while it owns live runs, unless --force).
    Restart {
        /// Interrupt its live runs (gracefully; they stay resumable) and restart.
        #[arg(long)]
        force: bool,
    },
}

/// `lulu completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: Shell,
}

/// Shells with completion scripts.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    /// Bash.
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_interface_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_for_each_command() {
        let mut cli = Cli::command().term_width(100);
        cli.build();
        let mut pages = vec![cli.render_help().to_string()];
        for sub in cli.get_subcommands_mut() {
            let name = sub.get_name().to_owned();
            let mut sub = sub.clone().term_width(100);
            pages.push(format!("== lulu {name}\n{}", sub.render_help()));
        }
        insta::assert_snapshot!(pages.join("\n"));
    }

    fn parse_run(args: &[&str]) -> RunArgs {
        let cli = Cli::try_parse_from(args).unwrap();
        let Some(Command::Run(run)) = cli.command else {
            panic!("parsed as run")
        };
        run
    }

    #[test]
    fn options_are_options_before_and_after_the_prompt() {
        let run = parse_run(&["lulu", "run", "SAY", "a", "--detach", "--model", "m"]);
        assert!(run.detach);
        assert_eq!(run.agent.run.model.as_deref(), Some("m"));
        assert_eq!(run.prompt.join(" "), "SAY a");
        assert!(
            parse_run(&["lulu", "run", "-d", "SAY", "a"]).detach,
            "-d is --detach"
        );
    }

    #[test]
    fn after_a_double_dash_everything_is_prompt_text() {
        let run = parse_run(&[
            "lulu",
            "run",
            "--detach",
            "--",
            "-rf",
            "everything",
            "--now",
        ]);
        assert!(run.detach);
        assert_eq!(run.prompt.join(" "), "-rf everything --now");
    }

    #[test]
    fn an_unknown_option_is_a_usage_error_naming_the_close_one() {
        for args in [
            &["lulu", "run", "SAY a", "--detatch"][..],
            &["lulu", "run", "-rf", "everything"],
        ] {
            let error = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{args:?}");
        }
        let error = Cli::try_parse_from(["lulu", "run", "SAY a", "--detatch"]).unwrap_err();
        assert!(error.to_string().contains("'--detach'"), "{error}");
    }

    #[test]
    fn resume_takes_the_run_options_but_not_the_sessions_own() {
        let cli = Cli::try_parse_from([
            "lulu",
            "resume",
            "a0000001",
            "--allowed-tools",
            "Bash",
            "go on",
            "--model",
            "opus",
            "--max-turns",
            "3",
        ])
        .unwrap();
        let Some(Command::Resume(resume)) = cli.command else {
            panic!("parsed as resume")
        };
        assert_eq!(resume.options.allowed_tools, ["Bash"]);
        assert_eq!(resume.options.model.as_deref(), Some("opus"));
        assert_eq!(resume.options.max_turns, Some(3));
        assert_eq!(resume.prompt, ["go on"]);
        for fixed in ["--add-dir", "--append-system-prompt", "--cwd", "--title"] {
            let error = Cli::try_parse_from(["lulu", "resume", "a0000001", fixed, "x", "go on"])
                .unwrap_err();
            assert_eq!(error.exit_code(), 2, "{fixed}");
        }
    }

    #[test]
    fn repeatable_options_collect() {
        let run = parse_run(&[
            "lulu",
            "run",
            "--allowed-tools",
            "Bash",
            "--allowed-tools",
            "Read",
            "--add-dir",
            "/tmp",
            "go",
        ]);
        assert_eq!(run.agent.run.allowed_tools, ["Bash", "Read"]);
        assert_eq!(run.agent.add_dirs, [PathBuf::from("/tmp")]);
    }

    #[test]
    fn status_takes_a_comma_list_and_offers_its_values() {
        let cli = Cli::try_parse_from(["lulu", "ls", "--status", "completed,failed"]).unwrap();
        let Some(Command::List(list)) = cli.command else {
            panic!("parsed as list")
        };
        assert_eq!(
            list.filter.status,
            [
                lulu_domain::SessionStatus::Completed,
                lulu_domain::SessionStatus::Failed
            ]
        );
        let error =
            Cli::try_parse_from(["lulu", "stats", "--status", "completed,paused"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(
            error
                .to_string()
                .contains("`paused` is not a session status"),
            "{error}"
        );
        let command = Cli::command();
        let list = command.find_subcommand("list").unwrap();
        let status = list
            .get_arguments()
            .find(|arg| arg.get_id() == "status")
            .unwrap();
        let offered: Vec<String> = status
            .get_possible_values()
            .iter()
            .map(|value| value.get_name().to_owned())
            .collect();
        assert!(
            offered.contains(&"needs_approval".to_owned()),
            "{offered:?}"
        );
        assert_eq!(offered.len(), lulu_domain::SessionStatus::ALL.len());
    }

    #[test]
    fn a_bad_status_is_a_usage_error() {
        let error = Cli::try_parse_from(["lulu", "list", "--status", "paused"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error
            .to_string()
            .contains("`paused` is not a session status"));
    }
}
