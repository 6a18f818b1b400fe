//! No secrets at rest: a key a tool echoes (on stdout or on the agent's stderr) is
//! replaced by `[redacted]` in everything Lulu stores and prints.

use crate::harness::Sandbox;

const KEY: &str = "sk-ant-test-0123456789abcdef";
const TOKEN: &str = "tok-9876543210-fedcba";

#[test]
fn a_key_a_tool_prints_is_redacted_in_the_database_and_in_every_output() {
    let sandbox = Sandbox::new()
        .env("ANTHROPIC_API_KEY", KEY)
        .env("MY_SERVICE_TOKEN", TOKEN);
    let mut printed = String::new();
    let mut run = |args: &[&str]| {
        let output = sandbox.run(args);
        printed.push_str(&String::from_utf8_lossy(&output.stdout));
        printed.push_str(&String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    // A tool echoes the key on stdout: it reaches the tool result and its raw JSON.
    let echoed = run(&["run", "BASH echo \"$ANTHROPIC_API_KEY $MY_SERVICE_TOKEN\""]);
    let echoed = echoed.lines().next().expect("the session id").to_owned();
    // A tool writes the key on the agent's own stderr, then the agent crashes: it
    // reaches the stderr kept in the transcript, the run outcome and `last_error`.
    let crashed = run(&[
        "run",
        "BASH echo \"$ANTHROPIC_API_KEY\" > /proc/$PPID/fd/2; kill -ABRT $PPID",
    ]);
    let crashed = crashed.lines().next().expect("the session id").to_owned();
    for id in [&echoed, &crashed] {
        run(&["logs", id]);
        run(&["logs", id, "--json"]);
        run(&["show", id]);
        run(&["show", id, "--json"]);
    }
    run(&["list", "--json"]);
    run(&["list"]);

    let shown = sandbox.show(&crashed);
    assert_eq!(shown["status"], "failed", "{shown:#}");
    assert_eq!(
        shown["last_error"], "the agent was killed by signal 6; stderr: [redacted]",
        "{shown:#}"
    );
    assert!(printed.contains("[redacted] [redacted]"), "{printed}");
    assert!(!printed.contains(KEY), "the key was printed:\n{printed}");
    assert!(
        !printed.contains(TOKEN),
        "the token was printed:\n{printed}"
    );

    // Every `lulu` process has exited: the files can be read without disturbing SQLite.
    sandbox.assert_nothing_left();
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(sandbox.db.parent().expect("a folder")).expect("listed") {
        let path = entry.expect("an entry").path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with("lulu.db") {
            stored.extend(std::fs::read(&path).expect("readable"));
        }
    }
    assert!(stored.len() > 4096, "the database was written");
    let stored = String::from_utf8_lossy(&stored);
    assert!(
        stored.contains("[redacted]"),
        "the redacted text was stored"
    );
    assert!(!stored.contains(KEY), "the key is stored in the database");
    assert!(
        !stored.contains(TOKEN),
        "the token is stored in the database"
    );
}
