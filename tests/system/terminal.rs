//! Stored and agent text never drives the terminal: escape sequences, C1 controls and
//! bidi overrides in prompts, agent text and tool output are shown, not obeyed, even where
//! colours are on; `--json` keeps every byte.

use std::process::Output;

use crate::harness::Sandbox;

/// Sets the window title, clears the screen, sends a C1 CSI, reverses text direction.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}1m\u{202e}evil\u{7f}";

/// Runs `lulu args` as if on a colour terminal (the streams are pipes in tests, so colour
/// is forced: the path where nothing strips escapes for us).
fn on_a_terminal(sandbox: &Sandbox, args: &[&str]) -> Output {
    let mut command = sandbox.lulu(args);
    command.env_remove("NO_COLOR").env("CLICOLOR_FORCE", "1");
    let output = sandbox.run_command(command);
    assert!(output.status.success(), "lulu {args:?}: {output:?}");
    output
}

/// Asserts `bytes` holds no control a terminal would obey, apart from Lulu's own colours
/// (`ESC [ … m`).
fn assert_harmless(what: &str, bytes: &[u8]) {
    let colours = regex::bytes::Regex::new(r"\x1b\[[0-9;]*m").unwrap();
    let text =
        String::from_utf8(colours.replace_all(bytes, &b""[..]).into_owned()).expect("utf-8 output");
    let obeyed: Vec<char> = text
        .chars()
        .filter(|c| {
            (c.is_control() && !matches!(c, '\n' | '\t'))
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
        })
        .collect();
    assert!(obeyed.is_empty(), "{what} printed {obeyed:?} raw:\n{text}");
}

#[test]
fn hostile_prompt_agent_text_and_tool_output_are_shown_not_obeyed() {
    let sandbox = Sandbox::new();
    let said = format!("SAY {HOSTILE}");
    let run = on_a_terminal(&sandbox, &["run", &said]);
    let id = String::from_utf8_lossy(&run.stdout)
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let tool = on_a_terminal(
        &sandbox,
        &[
            "resume",
            &id,
            r"BASH printf '\033]0;pwned\007\302\233\342\200\256'",
        ],
    );

    assert_harmless("run", &run.stdout);
    assert_harmless("resume", &tool.stdout);
    for args in [vec!["list"], vec!["show", &id], vec!["logs", &id]] {
        let output = on_a_terminal(&sandbox, &args);
        assert_harmless(&args.join(" "), &output.stdout);
        assert_harmless(&args.join(" "), &output.stderr);
    }
    let logs = String::from_utf8(on_a_terminal(&sandbox, &["logs", &id]).stdout).unwrap();
    assert!(
        logs.contains("^[]0;pwned^G^[[2J<U+009B>1m<U+202E>evil^?"),
        "made visible: {logs}"
    );
}

#[test]
fn a_title_with_control_characters_is_refused() {
    let sandbox = Sandbox::new();

    let output = sandbox.run(&["run", "--title", "\u{1b}]0;pwned\u{7}", "SAY a"]);

    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("control character"), "{stderr}");
    assert_harmless("the refusal", &output.stderr);
}

#[test]
fn json_output_keeps_every_byte_of_stored_text() {
    let sandbox = Sandbox::new();
    let said = format!("SAY {HOSTILE}");
    let first = sandbox.ok(&["run", &said]);
    let id = first.lines().next().unwrap();

    let show = sandbox.show(id);
    let logs = sandbox.ok(&["logs", id, "--json"]);

    assert_eq!(show["runs"][0]["prompt"], said.as_str());
    let texts: Vec<serde_json::Value> = logs
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|entry| entry["kind"] == "assistant_text")
        .collect();
    assert_eq!(texts.len(), 1, "{logs}");
    assert_eq!(texts[0]["text"], HOSTILE);
}
