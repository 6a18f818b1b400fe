//! One module per subcommand: translate arguments, call the runtime, render the result.

mod advice;
mod approve;
mod ask;
mod daemon;
mod database;
mod doctor;
mod follow;
mod foreground;
mod inspect;
mod interrupt;
mod remove;
mod run;
mod send;
mod stats;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use lulu_runtime::client::{self, DaemonClient, DaemonStarter};
use lulu_runtime::config::Overrides;
use lulu_runtime::daemon::log::{RotatingLog, DEFAULT_LOG_LIMIT};
use lulu_runtime::daemon::DaemonPaths;
use lulu_runtime::protocol::{Request, Response};
use lulu_runtime::{Runtime, RuntimeConfig, RuntimeError};

use crate::args::{Cli, Command};
use crate::render::safe::safe_line;

/// What every command needs to reach the database and the agent.
pub struct Context {
    /// The resolved configuration.
    pub config: RuntimeConfig,
    /// `-v` was given: show more.
    pub verbose: bool,
}

impl Context {
    /// Resolves the configuration from the parsed flags and the environment.
    pub fn resolve(cli: &Cli) -> anyhow::Result<Self> {
        let flags = Overrides {
            db_path: cli.db.clone(),
            claude_bin: cli.claude_bin.clone(),
        };
        let config = RuntimeConfig::from_env_overlaid(&flags)?;
        Ok(Self {
            config,
            verbose: cli.verbose > 0,
        })
    }

    /// Opens the database, recovering sessions whose owner died (and saying so).
    pub async fn open(&self) -> anyhow::Result<Arc<Runtime>> {
        open_runtime(self.config.clone()).await
    }

    /// [`open`](Self::open) as a task of its own: it goes on while this command waits
    /// for something else.
    pub fn open_in_background(&self) -> tokio::task::JoinHandle<anyhow::Result<Arc<Runtime>>> {
        tokio::spawn(open_runtime(self.config.clone()))
    }

    /// Where this database's daemon keeps its lock, socket and log.
    pub fn paths(&self) -> DaemonPaths {
        DaemonPaths::from_env(&self.config.db_path)
    }

    /// The database's daemon if one answers.
    pub async fn connect(&self) -> anyhow::Result<Option<DaemonClient>> {
        client::connect(&self.paths()).await.map_err(with_hint)
    }

    /// The database's daemon if one answers in time; one that does not (stopped, stuck)
    /// counts as none, so a request takes the path every owner serves: the mailbox.
    pub async fn answering_daemon(&self) -> anyhow::Result<Option<DaemonClient>> {
        match client::connect(&self.paths()).await {
            Ok(client) => Ok(client),
            Err(RuntimeError::Daemon(reason)) => {
                tracing::info!(%reason, "the daemon does not answer; asking its runs' owner through the database");
                Ok(None)
            }
            Err(error) => Err(with_hint(error)),
        }
    }

    /// The database's daemon, started if none answers.
    pub async fn daemon(&self) -> anyhow::Result<DaemonClient> {
        client::connect_or_start(&self.paths(), &self.starter()?)
            .await
            .map_err(with_hint)
    }

    /// Has the database's daemon (started if none answers) carry out `request`; a
    /// daemon on its way out hands it to the next.
    pub async fn ask_daemon(&self, request: &Request) -> anyhow::Result<Response> {
        client::request_starting(&self.paths(), &self.starter()?, request)
            .await
            .map_err(with_hint)
    }

    fn starter(&self) -> anyhow::Result<DaemonStarter> {
        let program = std::env::current_exe()
            .context("cannot find the lulu executable to start the daemon with")?;
        Ok(DaemonStarter::for_config(
            program,
            &self.config,
            DAEMON_START_DEADLINE,
        ))
    }
}

/// Opens the database of `config`, recovering sessions whose owner died (and saying so).
async fn open_runtime(config: RuntimeConfig) -> anyhow::Result<Arc<Runtime>> {
    let runtime = lulu_runtime::open(config).await?;
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

/// How long a command waits for a daemon it starts to answer.
const DAEMON_START_DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);

/// A daemon of another version: say how to replace it.
fn with_hint(error: RuntimeError) -> anyhow::Error {
    if matches!(error, RuntimeError::DaemonVersion { .. }) {
        anyhow::anyhow!(
            "{error}: run `lulu daemon restart` (it refuses while runs are live; `--force` interrupts them, resumably)"
        )
    } else {
        error.into()
    }
}

/// The rotated log a daemon started on demand (`lulu daemon --background`) writes to;
/// `None` for every other command, or when it cannot be opened (then stderr, which its
/// starter pointed at the same file, takes the diagnostics).
pub fn background_daemon_log(cli: &Cli) -> Option<RotatingLog> {
    let Some(Command::Daemon(args)) = &cli.command else {
        return None;
    };
    if !args.background || args.action.is_some() {
        return None;
    }
    let context = Context::resolve(cli).ok()?;
    RotatingLog::open(&context.paths().log, DEFAULT_LOG_LIMIT).ok()
}

/// The session `typed` names (an id or a unique prefix), or with `None` the newest one.
pub async fn resolve_or_newest(
    runtime: &Runtime,
    typed: Option<&str>,
) -> anyhow::Result<lulu_domain::SessionId> {
    if let Some(typed) = typed {
        return Ok(runtime.resolve(typed).await?);
    }
    let newest = runtime
        .list(&lulu_domain::ports::SessionQuery {
            limit: Some(1),
            ..lulu_domain::ports::SessionQuery::default()
        })
        .await?;
    newest
        .first()
        .map(|session| session.id)
        .context("there is no session yet: start one with `lulu run PROMPT`")
}

/// Runs the parsed command.
pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(Command::Completions(args)) = &cli.command {
        crate::complete::write_script(args.shell, &mut std::io::stdout().lock())?;
        return Ok(ExitCode::SUCCESS);
    }
    let context = Context::resolve(&cli)?;
    let Some(command) = cli.command else {
        return inspect::overview(&context).await;
    };
    match command {
        Command::Run(args) => run::run(&context, args).await,
        Command::Resume(args) => run::resume(&context, args).await,
        Command::Daemon(args) => daemon::daemon(&context, args).await,
        Command::List(args) => inspect::list(&context, &args).await,
        Command::Show(args) => inspect::show(&context, &args).await,
        Command::Logs(args) => follow::logs(&context, &args).await,
        Command::Interrupt(args) => interrupt::interrupt(&context, &args).await,
        Command::Approve(args) => approve::approve(&context, &args).await,
        Command::Deny(args) => approve::deny(&context, &args).await,
        Command::Send(args) => send::send(&context, &args).await,
        Command::Close(args) => send::close(&context, &args).await,
        Command::Rm(args) => remove::remove(&context, &args).await,
        Command::Stats(args) => stats::stats(&context, &args).await,
        Command::Doctor(args) => doctor::doctor(&context, &args).await,
        Command::Completions(_) => unreachable!("handled above"),
    }
}
