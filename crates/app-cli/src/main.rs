//! `lulu`: the command line front end of Lulu.
//!
//! It parses arguments, calls the runtime's use cases and renders their results; every
//! lifecycle decision lives in the domain and the runtime. User output goes to stdout,
//! errors and progress to stderr, diagnostics (`RUST_LOG`, `-v`) through tracing.
//! Exit codes: 0 done, 1 failed, 2 usage error (nothing stored), 130 interrupted.

mod args;
mod commands;
mod complete;
mod exit;
mod filter;
mod render;
mod report;
mod spinner;

use std::process::ExitCode;

use clap::Parser as _;
use tracing_subscriber::EnvFilter;

use lulu_runtime::daemon::log::RotatingLog;

use crate::args::{Cli, Command};
use crate::render::style::{paint, DIM, ERROR};

fn main() -> ExitCode {
    complete::answer_if_asked();
    let cli = Cli::parse();
    init_tracing(
        cli.verbose,
        cli.quiet,
        commands::background_daemon_log(&cli),
    );
    // The daemon serves many clients and runs: worker threads. Every other command is a
    // client that mostly waits (on the daemon's socket, on the database's threads): on
    // this thread alone, each answer wakes it directly, not through a worker, and
    // there are no workers to stop at exit.
    let serves = matches!(&cli.command, Some(Command::Daemon(args)) if args.action.is_none());
    let mut builder = if serves {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(2);
        builder
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return fail(&anyhow::Error::from(error)),
    };
    match runtime.block_on(commands::dispatch(cli)) {
        Ok(code) => code,
        Err(error) => fail(&error),
    }
}

fn fail(error: &anyhow::Error) -> ExitCode {
    let report::Report { message, hint } = report::report(error);
    // Messages quote what the user typed and what was stored: shown, never obeyed.
    anstream::eprintln!(
        "{} {}",
        paint(ERROR, "lulu: error:"),
        render::safe::safe_text(&message)
    );
    if let Some(hint) = hint {
        anstream::eprintln!(
            "{} {}",
            paint(DIM, "lulu: hint:"),
            render::safe::safe_text(&hint)
        );
    }
    ExitCode::from(exit::for_error(error))
}

/// `RUST_LOG` wins; otherwise warnings, `-v` info, `-vv` debug, `-q` errors only. A
/// daemon started on demand logs at info to its rotated log beside the database.
fn init_tracing(verbose: u8, quiet: bool, log: Option<RotatingLog>) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) if log.is_some() => "info",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // A diagnostic that cannot be written (the daemon's log on a full disk) is
    // dropped: by default the subscriber reports that with `eprintln!`, which panics when
    // stderr fails, and the panic would take the task that logged down with it.
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .log_internal_errors(false);
    match log {
        Some(log) => subscriber
            .with_writer(std::sync::Mutex::new(log))
            .with_ansi(false)
            .init(),
        None => subscriber
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
}
