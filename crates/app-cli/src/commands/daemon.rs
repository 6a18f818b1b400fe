//! `lulu daemon`: run the daemon in the foreground, or show, stop or restart it.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use lulu_runtime::client::{self, DaemonClient};
use lulu_runtime::daemon::lock::DaemonLock;
use lulu_runtime::daemon::{self, DaemonExit, DaemonOptions};
use lulu_runtime::RuntimeError;

use super::Context;
use crate::args::{DaemonAction, DaemonArgs};
use crate::exit;

/// How long `stop` / `restart` wait for the old daemon to be gone (its runs get up to
/// the interrupt deadline, twice).
const STOP_PATIENCE: Duration = Duration::from_secs(30);

/// `lulu daemon [status|stop|restart]`.
pub async fn daemon(context: &Context, args: DaemonArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        None => serve(context, args.background).await,
        Some(DaemonAction::Status { json }) => status(context, json).await,
        Some(DaemonAction::Stop { force }) => {
            if stop(context, force).await? {
                anstream::println!("daemon stopped");
            } else {
                anstream::println!("no daemon runs for {}", context.config.db_path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(DaemonAction::Restart { force }) => {
            stop(context, force).await?;
            let mut client = context.daemon().await?;
            let pid = client.status().await?.pid;
            anstream::println!("daemon restarted (pid {pid})");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Serves until idle or stopped. In the background (started on demand) it leaves the
/// terminal first; in the foreground, finding another daemon serving is an error.
async fn serve(context: &Context, background: bool) -> anyhow::Result<ExitCode> {
    if background {
        daemon::leave_terminal()?;
    }
    let idle = daemon::idle_from(std::env::var("LULU_DAEMON_IDLE").ok().as_deref())?;
    let options = DaemonOptions {
        paths: context.paths(),
        idle,
    };
    let exit = daemon::serve(context.config.clone(), options).await?;
    if exit == DaemonExit::AnotherRuns && !background {
        anstream::eprintln!(
            "lulu: a daemon already serves {}: see `lulu daemon status`",
            context.config.db_path.display()
        );
        return Ok(ExitCode::from(exit::FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the daemon's state; exit 1 when none runs.
async fn status(context: &Context, json: bool) -> anyhow::Result<ExitCode> {
    let paths = context.paths();
    let Some(mut client) = context.connect().await? else {
        if json {
            super::inspect::print_json(&serde_json::json!({
                "running": false,
                "db": paths.db,
                "socket": paths.socket,
                "log": paths.log,
            }))?;
        } else {
            anstream::println!(
                "no daemon runs for {} (its socket would be {}, its log is {})",
                paths.db.display(),
                paths.socket.display(),
                paths.log.display()
            );
        }
        return Ok(ExitCode::from(exit::FAILED));
    };
    let status = client.status().await?;
    if json {
        let mut value = serde_json::to_value(&status)?;
        value["running"] = true.into();
        super::inspect::print_json(&value)?;
    } else {
        anstream::println!(
            "daemon pid {} (Lulu {}, protocol {})\n  database {}\n  socket   {}\n  log      {}\n  agent    {}\n  live runs {}, clients {}",
            status.pid,
            status.hello.lulu,
            status.hello.protocol,
            status.db.display(),
            status.socket.display(),
            status.log.display(),
            status.claude_bin.display(),
            status.live.len(),
            status.clients
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Stops the daemon if one runs and waits until it is gone; `false` if none ran.
async fn stop(context: &Context, force: bool) -> anyhow::Result<bool> {
    let paths = context.paths();
    let began = Instant::now();
    loop {
        match client::connect(&paths).await {
            Ok(Some(client)) => {
                ask_to_stop(client, force).await?;
                break;
            }
            // None answers: none runs, or one is still starting (it holds the lock).
            Ok(None) if !DaemonLock::is_held(&paths.lock)? => return Ok(false),
            Ok(None) if began.elapsed() > STOP_PATIENCE => anyhow::bail!(
                "a daemon holds {} but does not answer; see its log {}",
                paths.lock.display(),
                paths.log.display()
            ),
            Ok(None) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(RuntimeError::DaemonVersion { theirs, .. }) => {
                if !force {
                    anyhow::bail!(
                        "the daemon (pid {}) speaks another protocol version and cannot be asked to stop; \
                         `lulu daemon restart --force` stops it with SIGTERM (its live runs are interrupted and stay resumable)",
                        theirs.pid
                    );
                }
                daemon::terminate(theirs.pid)?;
                break;
            }
            Err(error) => return Err(error.into()),
        }
    }
    let began = Instant::now();
    while DaemonLock::is_held(&paths.lock)? {
        if began.elapsed() > STOP_PATIENCE {
            anyhow::bail!(
                "the daemon did not stop within {} s; see its log {}",
                STOP_PATIENCE.as_secs(),
                paths.log.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(true)
}

async fn ask_to_stop(mut client: DaemonClient, force: bool) -> anyhow::Result<()> {
    match client.shutdown(force).await {
        Ok(interrupting) => {
            if interrupting > 0 {
                anstream::eprintln!("interrupting {interrupting} live run(s); they stay resumable");
            }
            client.closed().await;
            Ok(())
        }
        Err(RuntimeError::Refused { code, message }) if code == "runs_live" => {
            anyhow::bail!("{message}: use --force to interrupt them and stop")
        }
        Err(error) => Err(error.into()),
    }
}
