//! `lulu resume` with run options: they reach the agent for that run only, `show` lists
//! what each run used, and bad ones store nothing.

use serde_json::Value;

use crate::harness::Sandbox;

/// What fake-claude's `ARGV` reply says its command line was, for each run of `id`, in order.
fn argv_of_each_run(sandbox: &Sandbox, id: &str) -> Vec<Vec<String>> {
    let runs: Vec<String> = sandbox.show(id)["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["id"].as_str().unwrap().to_owned())
        .collect();
    let entries: Vec<Value> = sandbox
        .ok(&["logs", id, "--json"])
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    runs.iter()
        .map(|run| {
            let reply = entries
                .iter()
                .find(|entry| entry["run_id"] == run.as_str() && entry["kind"] == "assistant_text")
                .unwrap_or_else(|| panic!("run {run} replied: {entries:?}"));
            serde_json::from_str(reply["text"].as_str().unwrap()).expect("an argv array")
        })
        .collect()
}

/// Every value given to `flag` in `argv` (as `flag value` or `flag=value`).
fn values_of(argv: &[String], flag: &str) -> Vec<String> {
    let joined = format!("{flag}=");
    argv.iter()
        .enumerate()
        .filter_map(|(index, arg)| {
            if arg == flag {
                argv.get(index + 1).cloned()
            } else {
                arg.strip_prefix(&joined).map(str::to_owned)
            }
        })
        .collect()
}

#[test]
fn a_resume_runs_with_the_options_given_and_a_later_one_with_the_sessions_own() {
    let sandbox = Sandbox::new();
    let first = sandbox.ok(&[
        "run",
        "--model",
        "claude-first",
        "--allowed-tools",
        "Read",
        "--max-turns",
        "5",
        "ARGV",
    ]);
    let id = first.lines().next().unwrap().to_owned();

    sandbox.ok(&[
        "resume",
        &id,
        "--model",
        "claude-second",
        "--allowed-tools",
        "Bash",
        "--disallowed-tools",
        "WebFetch",
        "--permission-mode",
        "acceptEdits",
        "--max-turns",
        "2",
        "ARGV",
    ]);
    sandbox.ok(&["resume", &id, "ARGV"]);

    let argv = argv_of_each_run(&sandbox, &id);
    assert_eq!(argv.len(), 3);
    for (run, flag, expected) in [
        (0, "--model", vec!["claude-first"]),
        (0, "--allowedTools", vec!["Read"]),
        (0, "--max-turns", vec!["5"]),
        (0, "--permission-mode", vec![]),
        (1, "--model", vec!["claude-second"]),
        (1, "--allowedTools", vec!["Bash"]),
        (1, "--disallowedTools", vec!["WebFetch"]),
        (1, "--permission-mode", vec!["acceptEdits"]),
        (1, "--max-turns", vec!["2"]),
        (2, "--model", vec!["claude-first"]),
        (2, "--allowedTools", vec!["Read"]),
        (2, "--disallowedTools", vec![]),
        (2, "--permission-mode", vec![]),
        (2, "--max-turns", vec!["5"]),
    ] {
        assert_eq!(
            values_of(&argv[run], flag),
            expected,
            "run {} {flag}: {:?}",
            run + 1,
            argv[run]
        );
    }
    assert!(
        argv[1].contains(&"--resume".to_owned()),
        "same conversation"
    );

    let session = sandbox.show(&id);
    let runs = session["runs"].as_array().unwrap();
    let models: Vec<&str> = runs
        .iter()
        .map(|run| run["model"].as_str().unwrap())
        .collect();
    assert_eq!(models, ["claude-first", "claude-second", "claude-first"]);
    let options: Vec<&Value> = runs.iter().map(|run| &run["options"]).collect();
    assert_eq!(options[1]["permission_mode"], "acceptEdits");
    assert_eq!(options[1]["allowed_tools"], serde_json::json!(["Bash"]));
    assert_eq!(options[0], options[2], "the session's own again");
    assert!(runs.iter().all(|run| run["cli_version"] == "2.1.197"));
    let shown = sandbox.ok(&["show", &id]);
    let lines: Vec<&str> = shown.lines().collect();
    let agent = lines
        .iter()
        .position(|line| line.starts_with("   agent    claude-second · Claude Code 2.1.197 · pid "))
        .unwrap_or_else(|| panic!("the resumed run's agent: {shown}"));
    assert_eq!(
        lines[agent + 1],
        "   options  model=claude-second permission-mode=acceptEdits max-turns=2 allowed-tools=Bash disallowed-tools=WebFetch",
        "{shown}"
    );
    sandbox.assert_nothing_left();
}

#[test]
fn bad_resume_options_are_usage_errors_that_store_nothing() {
    let sandbox = Sandbox::new();
    let first = sandbox.ok(&["run", "SAY hello"]);
    let id = first.lines().next().unwrap().to_owned();

    for bad in [
        &["--max-turns", "0"][..],
        &["--max-turns", "many"],
        &["--add-dir", "/tmp"],
        &["--cwd", "/tmp"],
    ] {
        let mut args = vec!["resume", id.as_str()];
        args.extend_from_slice(bad);
        args.push("SAY again");
        let output = sandbox.run(&args);
        assert_eq!(output.status.code(), Some(2), "{bad:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(bad[0]) || stderr.contains("turn"),
            "{bad:?}: {stderr}"
        );
    }

    let session = sandbox.show(&id);
    assert_eq!(session["resume_count"], 0);
    assert_eq!(session["runs"].as_array().unwrap().len(), 1, "no run added");
    sandbox.assert_nothing_left();
}
