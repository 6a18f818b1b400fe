//! One module per subcommand: translate arguments, call the runtime, render the result.

mod doctor;
mod follow;
mod inspect;
mod interrupt;
mod remove;
mod run;

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Arc;

use clap::CommandFactory as _;

use lulu_runtime::config::Overrides;
use lulu_runtime::{Runtime, RuntimeConfig};

use crate::args::{Cli, Command, Shell};
use crate::render::safe::safe_line;

/// What every command needs to reach the database and the agent.
pub struct Context {
    /// The resolved configuration.
    pub config: RuntimeConfig,
}

impl Context {
    /// Resolves the configuration from the parsed flags and the environment.
    pub fn resolve(cli: &Cli) -> anyhow::Result<Self> {
        let flags = Overrides {
            db_path: cli.db.clone(),
            claude_bin: cli.claude_bin.clone(),
        };
        let config = RuntimeConfig::from_env_overlaid(&flags)?;
        Ok(Self { config })
    }

    /// Opens the database, recovering sessions whose owner died (and saying so).
    pub async fn open(&self) -> anyhow::Result<Arc<Runtime>> {
        let runtime = lulu_runtime::open(self.config.clone()).await?;
        for session in runtime.take_recovered() {
            let why = session.last_error.as_deref().unwrap_or("its owner died");
            let notice = format!(
                "recovered session {} ({}): {}; it is now {}",
                session.id.short(),
                safe_line(session.title.as_str()),
                safe_line(why),
                session.status
            );
            anstream::eprintln!(
                "{}",
                crate::render::style::paint(crate::render::style::DIM, &notice)
            );
        }
        Ok(Arc::new(runtime))
    }

    /// The environment a detached owner needs to agree with this process.
    pub fn detached_env(&self) -> Vec<(&'static str, OsString)> {
        vec![
            ("LULU_DB", self.config.db_path.clone().into_os_string()),
            (
                "LULU_CLAUDE_BIN",
                self.config.claude_bin.clone().into_os_string(),
            ),
            (
                "LULU_MAX_RUNNING",
                self.config.max_running.to_string().into(),
            ),
        ]
    }
}

/// Runs the parsed command.
pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Completions(args) = &cli.command {
        print_completions(args.shell);
        return Ok(ExitCode::SUCCESS);
    }
    let context = Context::resolve(&cli)?;
    match cli.command {
        Command::Run(args) => run::run(&context, args).await,
        Command::Resume(args) => run::resume(&context, args).await,
        Command::OwnDetached => run::own_detached(&context).await,
        Command::List(args) => inspect::list(&context, &args).await,
        Command::Show(args) => inspect::show(&context, &args).await,
        Command::Logs(args) => follow::logs(&context, &args).await,
        Command::Interrupt(args) => interrupt::interrupt(&context, &args).await,
        Command::Rm(args) => remove::remove(&context, &args).await,
        Command::Doctor(args) => doctor::doctor(&context, &args).await,
        Command::Completions(_) => unreachable!("handled above"),
    }
}

fn print_completions(shell: Shell) {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut Cli::command(), "lulu", &mut std::io::stdout());
}
