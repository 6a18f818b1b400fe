//! Filters on `list` and `stats`, the usage summary, completion of session ids, and
//! prompts kept out of every process's argv.

use serde_json::Value;

use crate::harness::{wait_until, Sandbox};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("{error}: {text}"))
}

/// Two completed sessions, one in the work dir and one below it, one failed elsewhere;
/// returns their ids in that order.
fn three_sessions(sandbox: &Sandbox) -> [String; 3] {
    let below = sandbox.work.join("web");
    std::fs::create_dir_all(&below).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let first = sandbox.ok(&["run", "--title", "parser 日本", "SAY one"]);
    let second = sandbox.ok(&["run", "--cwd", below.to_str().unwrap(), "SAY two"]);
    let third = sandbox.run(&["run", "--cwd", elsewhere.path().to_str().unwrap(), "FAIL"]);
    assert_eq!(third.status.code(), Some(1), "{third:?}");
    let id = |output: &str| output.lines().next().unwrap().trim().to_owned();
    [id(&first), id(&second), id(&text(&third.stdout))]
}

fn listed(sandbox: &Sandbox, filter: &[&str]) -> Vec<String> {
    let mut args = vec!["list", "--json"];
    args.extend_from_slice(filter);
    json(&sandbox.ok(&args))
        .as_array()
        .unwrap()
        .iter()
        .map(|session| session["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn list_and_stats_filter_by_statuses_a_directory_and_a_time() {
    let sandbox = Sandbox::new();
    let [first, second, third] = three_sessions(&sandbox);
    let work = sandbox.work.to_str().unwrap();
    assert_eq!(listed(&sandbox, &["--status", "completed,failed"]).len(), 3);
    assert_eq!(listed(&sandbox, &["--status", "failed"]), [third]);
    assert_eq!(listed(&sandbox, &["--cwd", work]), [second.clone(), first]);
    assert_eq!(
        listed(&sandbox, &["--cwd", "web"]),
        [second],
        "relative to here"
    );
    assert_eq!(listed(&sandbox, &["--since", "1h"]).len(), 3);

    let nothing = sandbox.run(&["list", "--since", "2999-01-01"]);
    assert!(
        nothing.status.success() && nothing.stdout.is_empty(),
        "{nothing:?}"
    );
    assert!(
        text(&nothing.stderr).contains("no session matches the filter"),
        "{nothing:?}"
    );
    let bad = sandbox.run(&["list", "--status", "completed,paused"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("`paused` is not a session status"),
        "{bad:?}"
    );
    let bad = sandbox.run(&["stats", "--since", "yesterday"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("`yesterday`"), "{bad:?}");
    sandbox.assert_nothing_left();
}

#[test]
fn stats_sums_cost_tokens_turns_and_sessions_as_json_and_as_a_table() {
    let sandbox = Sandbox::new();
    three_sessions(&sandbox);
    let all = json(&sandbox.ok(&["stats", "--json"]));
    let shown: Vec<Value> = json(&sandbox.ok(&["list", "--json"]))
        .as_array()
        .unwrap()
        .clone();
    let sum = |field: &str| -> f64 {
        shown
            .iter()
            .map(|session| session[field].as_f64().unwrap_or(0.0))
            .sum()
    };
    assert_eq!(all["by"], Value::Null);
    assert_eq!(all["total"]["sessions"], 3);
    assert_eq!(all["total"]["num_turns"].as_f64(), Some(sum("num_turns")));
    assert_eq!(
        all["total"]["input_tokens"].as_f64(),
        Some(sum("input_tokens"))
    );
    assert!((all["total"]["cost_usd"].as_f64().unwrap() - sum("total_cost_usd")).abs() < 1e-9);
    assert!(all["total"]["cost_usd"].as_f64().unwrap() > 0.0, "{all}");

    let by_cwd = json(&sandbox.ok(&["stats", "--by", "cwd", "--status", "completed", "--json"]));
    let keys: Vec<&str> = by_cwd["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|group| group["key"].as_str().unwrap())
        .collect();
    let work = sandbox.work.to_str().unwrap().to_owned();
    let mut expected = vec![work.clone(), format!("{work}/web")];
    let mut got: Vec<String> = keys.iter().map(|key| (*key).to_owned()).collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    assert_eq!(by_cwd["total"]["sessions"], 2);

    let by_day = sandbox.ok(&["stats", "--by", "day"]);
    let lines: Vec<&str> = by_day.lines().collect();
    assert_eq!(lines.len(), 3, "header, today, total:\n{by_day}");
    assert!(
        lines[0].starts_with("DAY") && lines[0].ends_with("COST"),
        "{by_day}"
    );
    assert!(lines[2].starts_with("total"), "{by_day}");
    let nothing = sandbox.run(&["stats", "--status", "idle"]);
    assert!(
        nothing.status.success() && nothing.stdout.is_empty(),
        "{nothing:?}"
    );
    assert!(text(&nothing.stderr).contains("no session matches the filter"));
    sandbox.assert_nothing_left();
}

#[test]
fn completion_offers_session_ids_with_their_titles_in_each_shell() {
    let sandbox = Sandbox::new();
    let [first, second, _] = three_sessions(&sandbox);
    let complete = |shell: &str, words: &[&str]| {
        let mut command = sandbox.lulu(&[]);
        command
            .args(["--", "lulu"])
            .args(words)
            .env("LULU_COMPLETE", shell)
            .env("_CLAP_COMPLETE_INDEX", words.len().to_string())
            .env("_CLAP_IFS", "\n");
        let output = sandbox.run_command(command);
        assert!(output.status.success(), "{output:?}");
        text(&output.stdout)
    };
    let fish = complete("fish", &["show", ""]);
    assert!(fish.contains(&format!("{first}\tparser 日本")), "{fish}");
    assert!(fish.contains(&format!("{second}\tSAY two")), "{fish}");
    let zsh = complete("zsh", &["logs", &first[..6]]);
    assert_eq!(zsh.trim(), format!("{first}:parser 日本"), "only the match");
    let bash = complete("bash", &["resume", &second[..5]]);
    assert_eq!(bash.trim(), second);
    let statuses = complete("fish", &["list", "--status", "completed,fa"]);
    assert_eq!(statuses.trim(), "completed,failed");
    let daemon = complete("fish", &["daemon", "--"]);
    assert!(!daemon.contains("--background"), "internal: {daemon}");

    let elsewhere = tempfile::tempdir().unwrap();
    let empty_db = elsewhere.path().join("none.db");
    let none = complete("fish", &["--db", empty_db.to_str().unwrap(), "show", ""]);
    assert!(!none.contains(&first), "{none}");
    assert!(!empty_db.exists(), "a Tab never creates a database");

    for shell in ["bash", "zsh", "fish"] {
        let script = sandbox.ok(&["completions", shell]);
        assert!(script.contains("LULU_COMPLETE"), "{shell}: {script}");
    }
    sandbox.assert_nothing_left();
}

#[test]
fn no_process_lulu_starts_shows_the_prompt_in_its_argv() {
    let sandbox = Sandbox::new();
    let prompt = "SLOW 200 the-secret-plan-b7e2";
    let id = sandbox.detach(prompt);
    sandbox.wait_status(&id, "running");
    wait_until("the daemon and the agent run", || {
        sandbox.processes().len() >= 2
    });
    // Every process on the machine: whatever Lulu started, wherever its environment.
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let argv = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let argv = text(&argv).replace('\0', " ");
        assert!(
            !argv.contains("the-secret-plan"),
            "process {:?} shows the prompt: {argv}",
            entry.file_name()
        );
    }
    sandbox.interrupt_cleanly(&id);
    sandbox.assert_nothing_left();
}
