//! `lulu-bench`: Lulu's costs as ratios against baselines measured in the same run
//! (interleaved run by run: the machine is shared and noisy), printed as one table and
//! written to `docs/BENCHMARKS.md`.
//!
//! `cargo run --release -p lulu-bench -- [--quick|--full] [--only NAME,...]`; quick (the
//! default) takes fewer repetitions and a smaller large database. It builds the `lulu` and
//! `fake-claude` it drives (release), installs the real CLI and the Agent SDK from npm into
//! the target directory when Node is there, and reports what it could not run.

mod agent;
mod dataset;
mod machine;
mod measures;
mod procfs;
mod report;
mod sdk;
mod stats;
mod table;
mod world;

use std::process::{Command, ExitCode, Stdio};

use anyhow::Context as _;

fn main() -> anyhow::Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--peak-rss") {
        return peak_rss(&args[1..]);
    }
    let options = report::Options::parse(&args)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(report::run(&options))?;
    Ok(ExitCode::SUCCESS)
}

/// `--peak-rss PROGRAM ARGS...`: runs the program (stdout drained, stderr passed on) and
/// prints `peak-rss-kib N` on stderr: its peak resident memory (this process's only child).
fn peak_rss(command: &[String]) -> anyhow::Result<ExitCode> {
    let (program, args) = command
        .split_first()
        .context("--peak-rss needs a program")?;
    let mut child = Command::new(program)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdout = child.stdout.take().context("its stdout")?;
    std::io::copy(&mut stdout, &mut std::io::sink())?;
    let status = child.wait()?;
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)?;
    eprintln!("peak-rss-kib {}", usage.max_rss());
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
