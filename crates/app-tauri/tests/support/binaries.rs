//! The executables a desktop test needs beside the app: `lulu` (it starts the daemon)
//! and `fake-claude` (the stand-in agent), built by the Cargo running the tests (same
//! profile, same target dir: a quick no-op when they are fresh). Shared by the command
//! tests and the end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Paths of the built executables.
pub struct Binaries {
    /// `lulu`.
    pub lulu: PathBuf,
    /// `fake-claude`.
    pub fake_claude: PathBuf,
}

/// `lulu` and `fake-claude`, built once per test binary.
pub fn binaries() -> &'static Binaries {
    static BINARIES: OnceLock<Binaries> = OnceLock::new();
    BINARIES.get_or_init(|| {
        let mut built = build(&[("lulu-app-cli", "lulu"), ("lulu-tests", "fake-claude")]);
        Binaries {
            fake_claude: built.pop().expect("fake-claude was built"),
            lulu: built.pop().expect("lulu was built"),
        }
    })
}

/// The workspace's root directory.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the crate sits in crates/ of the workspace")
        .to_path_buf()
}

/// The Cargo profile this test (in `target/<profile>/deps`) or bench binary (in
/// `target/<profile>`) was built with: `debug`, `release`, …
pub fn profile() -> String {
    let me = std::env::current_exe().expect("the test knows its own path");
    let dir = me.parent().expect("the binary lives in a directory");
    let profile_dir = if dir.ends_with("deps") {
        dir.parent().expect("deps lives in the profile's directory")
    } else {
        dir
    };
    profile_dir
        .file_name()
        .and_then(|name| name.to_str())
        .expect("the binary lives in target/<profile>")
        .to_owned()
}

/// Builds each `(package, bin)` and returns their paths, in order.
pub fn build(targets: &[(&str, &str)]) -> Vec<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace())
        .args(["build", "--message-format=json-render-diagnostics"]);
    for (package, bin) in targets {
        command.args(["-p", package, "--bin", bin]);
    }
    let profile = profile();
    if profile != "debug" {
        command.args(["--profile", &profile]);
    }
    let output = command.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "building {targets:?} failed ({:?}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let artifacts: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .filter(|message: &serde_json::Value| message["reason"] == "compiler-artifact")
        .collect();
    targets
        .iter()
        .map(|(_, bin)| {
            artifacts
                .iter()
                .filter(|message| message["target"]["name"] == *bin)
                .find_map(|message| message["executable"].as_str().map(PathBuf::from))
                .unwrap_or_else(|| panic!("cargo reports the {bin} executable it built"))
        })
        .collect()
}
