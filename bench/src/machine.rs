//! What the numbers were measured on: the machine, the versions, the date.

use std::path::Path;
use std::process::Command;

use crate::world::Tools;

/// The first line a command prints, or what went wrong.
fn first_line(program: &Path, args: &[&str]) -> String {
    match Command::new(program).args(args).output() {
        Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        Ok(output) => format!("(exit {:?})", output.status.code()),
        Err(error) => format!("(not found: {error})"),
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "(unknown)".to_owned())
}

fn sdk_version(tools: &Tools) -> String {
    let Ok(dir) = &tools.sdk else {
        return "(not installed)".to_owned();
    };
    std::fs::read_to_string(dir.join("node_modules/@anthropic-ai/claude-agent-sdk/package.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|package| package["version"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "(unknown)".to_owned())
}

/// `name: value` lines describing the machine and the versions.
pub fn describe(tools: &Tools) -> Vec<(&'static str, String)> {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").map_or_else(
        |_| "(unknown)".to_owned(),
        |release| release.trim().to_owned(),
    );
    let mut rev = first_line(
        Path::new("git"),
        &[
            "-C",
            &tools.root.to_string_lossy(),
            "rev-parse",
            "--short",
            "HEAD",
        ],
    );
    let dirty = Command::new("git")
        .args([
            "-C",
            &tools.root.to_string_lossy(),
            "status",
            "--porcelain",
            "--untracked-files=no",
        ])
        .output()
        .is_ok_and(|output| !output.stdout.is_empty());
    if dirty {
        rev.push_str(" (with uncommitted changes)");
    }
    let real_cli = match &tools.real_cli {
        Ok(cli) => first_line(cli, &["--version"]),
        Err(reason) => format!("(not installed: {reason})"),
    };
    vec![
        (
            "date",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        ),
        ("cores", cores.to_string()),
        ("CPU", cpu_model()),
        ("kernel", kernel),
        ("lulu", rev),
        ("rustc", first_line(Path::new("rustc"), &["--version"])),
        ("node", first_line(Path::new("node"), &["--version"])),
        ("real CLI", real_cli),
        ("Agent SDK", sdk_version(tools)),
    ]
}
