//! What a person sees, and the exit codes scripts rely on.

use crate::harness::{redact, Sandbox};

#[test]
fn list_show_and_logs_read_well() {
    let sandbox = Sandbox::new();
    let first = sandbox.ok(&["run", "--title", "greeting", "SAY hello"]);
    let id = first.lines().next().unwrap().to_owned();
    sandbox.ok(&["resume", &id, "BASH echo from-the-tool"]);

    insta::assert_snapshot!("run_output", redact(&first));
    insta::assert_snapshot!("list", redact(&sandbox.ok(&["list"])));
    insta::assert_snapshot!("show", redact(&sandbox.ok(&["show", &id])));
    insta::assert_snapshot!("logs", redact(&sandbox.ok(&["logs", &id])));
}

#[test]
fn json_shapes_are_stable() {
    let sandbox = Sandbox::new();
    let first = sandbox.ok(&["run", "SAY hello"]);
    let id = first.lines().next().unwrap().to_owned();

    let list = sandbox.ok(&["list", "--json"]);
    let show = sandbox.ok(&["show", &id, "--json"]);
    let logs: Vec<serde_json::Value> = sandbox
        .ok(&["logs", &id, "--json"])
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();

    assert!(serde_json::from_str::<serde_json::Value>(&list)
        .unwrap()
        .is_array());
    insta::assert_snapshot!("list_json", redact(&list));
    insta::assert_snapshot!("show_json", redact(&show));
    let kinds: Vec<&str> = logs
        .iter()
        .map(|line| line["kind"].as_str().unwrap())
        .collect();
    insta::assert_snapshot!("logs_json_kinds", kinds.join("\n"));
}

#[test]
fn exit_codes_say_how_it_went() {
    let sandbox = Sandbox::new().env("CLAUDE_CODE_MAX_RETRIES", "0");
    assert_eq!(sandbox.run(&["run", "SAY fine"]).status.code(), Some(0));
    let failed = sandbox.run(&["run", "FAIL"]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stdout).contains("failed ·"));
    let usage = sandbox.run(&["frobnicate"]);
    assert_eq!(usage.status.code(), Some(2));
    let unknown = sandbox.run(&["show", "ffffffff"]);
    assert_eq!(unknown.status.code(), Some(1));
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        message.contains("no session id starts with `ffffffff`"),
        "{message}"
    );
    // Said once, then the CLI's hint on the next line.
    assert_eq!(
        message.lines().count(),
        2,
        "the error and a hint: {message}"
    );
    assert!(
        message.contains("lulu: hint: `lulu list` shows the sessions"),
        "{message}"
    );
}

#[test]
fn ctrl_c_on_a_foreground_run_interrupts_it_gracefully_and_exits_130() {
    let sandbox = Sandbox::new();
    let child = sandbox.spawn(&["run", "SLOW 600"]);
    let lulu = nix::unistd::Pid::from_raw(child.id().cast_signed());
    let id = sandbox.wait_for_newest_session();
    let agent = sandbox.wait_for_agent(&id);
    // Both handle Ctrl-C by now (not merely exist): lulu to interrupt, the agent to end
    // its turn gracefully.
    for (who, pid) in [("lulu", lulu.as_raw()), ("the agent", agent)] {
        crate::harness::wait_until(&format!("{who} handles SIGINT"), || {
            crate::harness::catches_sigint(pid)
        });
    }

    nix::sys::signal::kill(lulu, nix::sys::signal::Signal::SIGINT).unwrap();
    let output = sandbox.finish(child);

    assert_eq!(output.status.code(), Some(130), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("interrupted ·"),
        "{text}"
    );
    let listed = sandbox.ok(&["list", "--json"]);
    assert!(listed.contains(r#""status": "interrupted""#), "{listed}");
    sandbox.assert_nothing_left();
}

#[test]
fn a_resume_the_agent_cannot_find_says_why_and_keeps_the_history() {
    let sandbox = Sandbox::new();
    let first = sandbox.ok(&["run", "SAY hello"]);
    let id = first.lines().next().unwrap().to_owned();
    std::fs::remove_dir_all(sandbox.claude_config.join("projects")).unwrap();

    let output = sandbox.run(&["resume", &id, "SAY again"]);

    assert_eq!(output.status.code(), Some(1));
    let hint = String::from_utf8_lossy(&output.stderr);
    assert!(hint.contains("has no conversation"), "{hint}");
    assert!(hint.contains("lulu run --cwd"), "{hint}");
    let session = sandbox.show(&id);
    assert_eq!(session["runs"].as_array().unwrap().len(), 2, "history kept");
    assert_eq!(session["status"], "failed");
}

#[test]
fn rm_refuses_a_live_session_and_force_interrupts_it_first() {
    let sandbox = Sandbox::new();
    let id = sandbox.detach("SLOW 600");
    sandbox.wait_status(&id, "running");

    let refused = sandbox.run(&["rm", &id]);
    assert_eq!(refused.status.code(), Some(1));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("interrupt it first, or use `lulu rm --force"),
        "{message}"
    );

    let removed = sandbox.ok(&["rm", "--force", &id[..6]]);
    assert_eq!(removed.trim(), format!("deleted {}", &id[..8]));
    let listed: serde_json::Value = serde_json::from_str(&sandbox.ok(&["list", "--json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 0);
    sandbox.assert_nothing_left();
}

#[test]
fn interrupting_a_settled_session_says_there_is_nothing_to_interrupt() {
    let sandbox = Sandbox::new();
    let first = sandbox.ok(&["run", "SAY done"]);
    let id = first.lines().next().unwrap().to_owned();

    let output = sandbox.run(&["interrupt", &id]);

    assert_eq!(output.status.code(), Some(1));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("is completed: there is no running agent to interrupt"),
        "{message}"
    );
    let short = sandbox.run(&["show", "abc"]);
    assert_eq!(short.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&short.stderr).contains("give at least 4 characters"));
}
