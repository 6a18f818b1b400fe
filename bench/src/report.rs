//! The whole run: tools found or installed, every measure in order, the table printed and
//! `docs/BENCHMARKS.md` written.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _};

use crate::measures::{self, Context};
use crate::table::{self, Row};
use crate::world::{StandIn, Tools};

/// The measures, by the names `--only` takes.
const MEASURES: [&str; 9] = [
    "run",
    "interrupt",
    "detach",
    "memory",
    "fake200",
    "sampler",
    "ingest",
    "large",
    "desktop",
];

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Quick mode.
    pub quick: bool,
    /// Only these measures (the document is then not written).
    pub only: Option<Vec<String>>,
}

impl Options {
    /// Parses `[--quick|--full] [--only NAME,...]`.
    pub fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut options = Self {
            quick: true,
            only: None,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => options.quick = true,
                "--full" => options.quick = false,
                "--only" => {
                    let names: Vec<String> = args
                        .next()
                        .context("--only needs a list of measures")?
                        .split(',')
                        .map(str::to_owned)
                        .collect();
                    if let Some(unknown) = names.iter().find(|name| !MEASURES.contains(&name.as_str())) {
                        bail!("unknown measure {unknown:?}; the measures are {}", MEASURES.join(", "));
                    }
                    options.only = Some(names);
                }
                other => bail!("unknown argument {other:?}; usage: lulu-bench [--quick|--full] [--only NAME,...]"),
            }
        }
        Ok(options)
    }

    fn wants(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|n| n == name))
    }
}

/// The measure's rows, or one row saying why it could not run.
fn rows_or(measure: &str, goal: &str, result: anyhow::Result<Vec<Row>>) -> Vec<Row> {
    result.unwrap_or_else(|error| vec![Row::not_run(measure, goal, &format!("{error:#}"))])
}

/// Every measure asked for, in the order.
async fn all_rows(
    options: &Options,
    context: &Context,
    standin: Result<&StandIn, &anyhow::Error>,
) -> Vec<Row> {
    let real = |name: &str| -> anyhow::Result<&StandIn> {
        context
            .tools
            .real_cli
            .as_ref()
            .map_err(|reason| anyhow::anyhow!("real CLI: {reason}"))?;
        standin.map_err(|error| anyhow::anyhow!("stand-in API ({name}): {error:#}"))
    };
    let mut rows = Vec::new();
    let step = |name: &str| {
        let wanted = options.wants(name);
        if wanted {
            eprintln!("lulu-bench: {name}…");
        }
        wanted
    };
    if step("run") {
        rows.extend(rows_or(
            "`lulu run` to exit, fake-claude",
            "<= +10 ms",
            measures::run::fake(context),
        ));
        rows.extend(rows_or(
            "`lulu run` to exit, real CLI",
            "<= 1.05×",
            real("run").and_then(|standin| measures::run::real(context, standin)),
        ));
    }
    if step("interrupt") {
        rows.extend(rows_or(
            "interrupt, fake-claude",
            "p99 <= 50 ms",
            measures::interrupt::fake(context),
        ));
        rows.extend(rows_or(
            "interrupt → outcome, real CLI vs Agent SDK",
            "<= SDK + 20 ms",
            real("interrupt").and_then(|standin| measures::interrupt::real(context, standin)),
        ));
    }
    if step("detach") {
        rows.extend(rows_or(
            "`lulu run --detach` and watch",
            "<= 30 ms / 300 ms / 50 ms",
            measures::detach::measure(context),
        ));
    }
    if step("memory") {
        rows.extend(rows_or(
            "daemon RSS vs SDK host, real CLI",
            "<= 0.5×",
            real("memory").and_then(|standin| measures::memory::real(context, standin)),
        ));
    }
    if step("fake200") {
        rows.extend(rows_or(
            "200 fake sessions",
            "<= 100 MiB, <= 10 %, 0 lost",
            measures::memory::fake_200(context),
        ));
    }
    if step("sampler") {
        rows.extend(rows_or(
            "sampler cost per tick",
            "(context)",
            measures::sampler::measure(context),
        ));
    }
    if step("ingest") {
        rows.extend(rows_or(
            "ingestion, WAL, size",
            ">= 0.9×, <= 64 MiB",
            measures::ingest::measure(context),
        ));
    }
    if step("large") {
        rows.extend(rows_or(
            "large database reads",
            "<= 30/30/50/500 ms",
            measures::large_db::measure(context).await,
        ));
    }
    if step("desktop") {
        rows.extend(rows_or(
            "desktop app",
            "<= 150 MB idle, <= 100 ms badge",
            measures::desktop::measure(context),
        ));
    }
    rows
}

/// Runs the benchmark.
pub async fn run(options: &Options) -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the workspace root")?
        .to_path_buf();
    let tools = prepare(&root)?;
    let context = Context {
        tools,
        quick: options.quick,
        notes: RefCell::new(Vec::new()),
    };
    // Described before measuring: the revision is the one the binaries were built from.
    let machine = crate::machine::describe(&context.tools);
    let standin = StandIn::start(&root);
    let rows = all_rows(options, &context, standin.as_ref()).await;
    drop(standin);
    let notes = context.notes.borrow().clone();
    let rendered = table::render(&rows);
    println!("{rendered}");
    for note in &notes {
        println!("- {note}");
    }
    if options.only.is_none() {
        let doc = document(options, &machine, &rendered, &notes);
        let path = root.join("docs/BENCHMARKS.md");
        std::fs::create_dir_all(root.join("docs"))?;
        std::fs::write(&path, doc)?;
        eprintln!("lulu-bench: wrote {}", path.display());
    }
    Ok(())
}

fn document(
    options: &Options,
    machine: &[(&str, String)],
    table: &str,
    notes: &[String],
) -> String {
    let mode = if options.quick { "--quick" } else { "--full" };
    let mut doc = String::new();
    let _ = writeln!(doc, "# Benchmarks\n");
    let _ = writeln!(
        doc,
        "Generated by `cargo run --release -p lulu-bench -- {mode}`; do not edit by hand, run it again.\n\
         Each Lulu number is measured beside its baseline in the same run, interleaved run by run:\n\
         the ratios are the result, absolute times are context (the machine is shared).\n"
    );
    let _ = writeln!(doc, "## Machine and versions\n");
    for (name, value) in machine {
        let _ = writeln!(doc, "- {name}: {value}");
    }
    let _ = writeln!(doc, "- mode: {mode}\n\n## Results\n\n{table}");
    if !notes.is_empty() {
        let _ = writeln!(doc, "## Notes\n");
        for note in notes {
            let _ = writeln!(doc, "- {note}");
        }
    }
    doc
}

/// Builds the binaries the measures drive and finds or installs the baselines.
fn prepare(root: &Path) -> anyhow::Result<Tools> {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let target = if target.is_absolute() {
        target
    } else {
        root.join(target)
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("lulu-bench: building lulu and fake-claude (release)…");
    let built = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--bins",
            "-p",
            "lulu-app-cli",
            "-p",
            "lulu-tests",
        ])
        .current_dir(root)
        .status()?;
    if !built.success() {
        bail!("cargo build --release of lulu and fake-claude failed");
    }
    let real_cli = install_real_cli(root);
    let sdk = install_sdk(&target);
    Ok(Tools {
        lulu: target.join("release/lulu"),
        fake_claude: target.join("release/fake-claude"),
        root: root.to_path_buf(),
        target,
        real_cli,
        sdk,
    })
}

/// The real CLI 2.1.197, installed by the conformance run's script.
fn install_real_cli(root: &Path) -> Result<PathBuf, String> {
    let output = Command::new("bash")
        .arg(root.join("tests/conformance/install-real-cli.sh"))
        .current_dir(root)
        .output()
        .map_err(|error| format!("bash: {error}"))?;
    let last = String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    if output.status.success() && Path::new(&last).exists() {
        Ok(PathBuf::from(last))
    } else {
        Err(format!("not installed ({})", last.trim()))
    }
}

/// The Agent SDK from npm, into `<target>/bench-sdk` once.
fn install_sdk(target: &Path) -> Result<PathBuf, String> {
    let dir = target.join("bench-sdk");
    if dir
        .join("node_modules/@anthropic-ai/claude-agent-sdk/package.json")
        .exists()
    {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir).map_err(|error| error.to_string())?;
    eprintln!("lulu-bench: npm install @anthropic-ai/claude-agent-sdk…");
    let installed = Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--silent",
            "@anthropic-ai/claude-agent-sdk",
        ])
        .current_dir(&dir)
        .status()
        .map_err(|error| format!("npm: {error}"))?;
    if installed.success() {
        Ok(dir)
    } else {
        Err("npm install @anthropic-ai/claude-agent-sdk failed".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<Options> {
        Options::parse(&args.iter().map(|arg| (*arg).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn quick_is_the_default_and_only_names_measures() {
        assert!(parse(&[]).unwrap().quick);
        assert!(!parse(&["--full"]).unwrap().quick);
        let only = parse(&["--only", "run,large"]).unwrap();
        assert!(only.wants("run") && only.wants("large") && !only.wants("ingest"));
        let error = parse(&["--only", "run,lists"]).unwrap_err().to_string();
        assert!(
            error.contains("\"lists\"") && error.contains("large"),
            "{error}"
        );
        assert!(parse(&["--fast"]).is_err());
    }
}
