//! The owner SIGKILL rounds again with the real Claude Code CLI, when
//! `tests/conformance/real-cli.sh` has installed it into `target/real-cli`, against the
//! loopback stand-in API. Without it the test says it skipped; it never installs it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::invariants::Transcripts;
use crate::kills::KillRounds;
use crate::world::World;

/// The real CLI where the conformance script installs it, if it is there.
fn installed_real_cli() -> Option<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || {
            let me = std::env::current_exe().expect("the test knows its own path");
            // target/<profile>/deps/<test>
            me.ancestors()
                .nth(3)
                .expect("the test lives in target/<profile>/deps")
                .to_owned()
        },
        PathBuf::from,
    );
    let claude = target.join("real-cli/node_modules/.bin/claude");
    claude.is_file().then_some(claude)
}

/// The loopback stand-in for the API; killed and reaped on drop.
struct StandIn {
    child: Child,
    port: String,
}

impl StandIn {
    fn start() -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/standin_api.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs the stand-in API");
        let mut port = String::new();
        let stdout = child.stdout.take().expect("stdout was piped");
        BufReader::new(stdout)
            .read_line(&mut port)
            .expect("the stand-in prints its port");
        let port = port.trim().to_owned();
        assert!(!port.is_empty(), "the stand-in API did not start");
        Self { child, port }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn owners_of_the_real_cli_sigkilled_at_random_points_leave_nothing_behind() {
    let Some(claude) = installed_real_cli() else {
        println!(
            "SKIPPED: the real Claude Code CLI is not installed in target/real-cli \
             (`bash tests/conformance/real-cli.sh` installs it)"
        );
        return;
    };
    let standin = StandIn::start();
    let base_url = format!("http://127.0.0.1:{}", standin.port);
    let claude = claude.to_str().expect("UTF-8 path").to_owned();
    let world = || {
        World::with_env(&[
            ("LULU_CLAUDE_BIN", &claude),
            ("ANTHROPIC_BASE_URL", &base_url),
            ("ANTHROPIC_API_KEY", "sk-ant-fault-suite-not-a-key"),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
            ("DISABLE_TELEMETRY", "1"),
            ("DISABLE_ERROR_REPORTING", "1"),
            ("DISABLE_AUTOUPDATER", "1"),
            ("CLAUDE_CODE_MAX_RETRIES", "0"),
        ])
    };
    KillRounds {
        name: "real CLI owner SIGKILL",
        world: &world,
        prompts: &["SLOWAPI count slowly", "TOOLAPI run the tool", "say hi"],
        options: &["--allowed-tools", "Bash"],
        latest: Duration::from_secs(4),
        transcripts: &|_| {
            Transcripts::NotCounted("the real CLI keeps no record of its stdout lines")
        },
    }
    .run();
}
