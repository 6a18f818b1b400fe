//! Hostile and careless input: control sequences in prompts, titles, agent and tool
//! output and ids; options written after the prompt; input that must be refused before
//! anything is created.

use crate::invariants::{assert_no_process_left, check_invariants, Transcripts};
use crate::world::World;

/// Terminal control: set the window title, clear the screen, colour, carriage return,
/// backspace, a C1 CSI, a bell and a bidi override.
const HOSTILE: &str = "\u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}[31mred\r\u{8}\u{9b}31m \u{202e}evil";

/// Where `bytes`, printed to a terminal, would carry control characters (other than
/// newline and tab): `None` if nowhere.
fn raw_controls(what: &str, bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let raw: Vec<char> = text
        .chars()
        .filter(|c| {
            (c.is_control() && !matches!(c, '\n' | '\t'))
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
        })
        .collect();
    (!raw.is_empty()).then(|| format!("{what} prints raw control characters {raw:?}:\n{text:?}"))
}

#[test]
fn hostile_text_is_neutralised_in_everything_printed_to_a_terminal() {
    let world = World::new();
    let mut problems = Vec::new();
    let say = format!("SAY {HOSTILE}");
    let mut run = world.run(&["run", "--title", HOSTILE, &say]);
    problems.extend(raw_controls("`run --title` (stdout)", &run.stdout));
    problems.extend(raw_controls("`run --title` (stderr)", &run.stderr));
    if !run.status.success() && world.list().is_empty() {
        // A title with controls may be refused (before anything is stored): then the
        // prompt alone carries them, and the title derived from it.
        run = world.run(&["run", &say]);
        problems.extend(raw_controls("`run` (stdout)", &run.stdout));
        problems.extend(raw_controls("`run` (stderr)", &run.stderr));
    }
    let id = String::from_utf8_lossy(&run.stdout)
        .lines()
        .next()
        .expect("run prints the id first")
        .to_owned();
    let tool = world.run(&[
        "resume",
        &id,
        r"BASH printf '\033]0;tool\007\033[2Jtool-output\r\n'",
    ]);
    problems.extend(raw_controls(
        "`resume` with tool output (stdout)",
        &tool.stdout,
    ));
    problems.extend(raw_controls(
        "`resume` with tool output (stderr)",
        &tool.stderr,
    ));

    for args in [
        vec!["list"],
        vec!["show", &id],
        vec!["logs", &id],
        vec!["logs", "--follow", &id],
    ] {
        let output = world.run(&args);
        assert!(output.status.success(), "{args:?}: {output:?}");
        problems.extend(raw_controls(
            &format!("`{}`", args.join(" ")),
            &output.stdout,
        ));
    }
    let prefix = format!("{}\u{1b}[2J", &id[..4]);
    let unknown = world.run(&["show", &prefix]);
    assert_eq!(unknown.status.code(), Some(1));
    problems.extend(raw_controls(
        "an error quoting the id given",
        &unknown.stderr,
    ));
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    check_invariants(&world, Transcripts::Exact);
}

#[test]
fn options_after_the_prompt_are_taken_as_options_or_refused_never_sent_as_the_prompt() {
    let world = World::new();

    let titled = world.run(&["run", "SAY", "hello", "--title", "greeting"]);
    let sessions = world.list();
    if titled.status.success() {
        let session = world.show(sessions[0]["id"].as_str().expect("an id"));
        assert_eq!(session["title"], "greeting", "{session:#}");
        assert_eq!(session["runs"][0]["prompt"], "SAY hello", "{session:#}");
    } else {
        assert_eq!(titled.status.code(), Some(2), "a usage error: {titled:?}");
        assert!(sessions.is_empty(), "refused, yet created: {sessions:?}");
    }

    let detached = world.run(&["run", "SAY", "bye", "--detach"]);
    if detached.status.success() {
        let stdout = String::from_utf8_lossy(&detached.stdout);
        assert_eq!(stdout.trim().lines().count(), 1, "only the id: {stdout}");
        let id = stdout.trim();
        let session = world.wait_status(id, "completed");
        assert_eq!(session["runs"][0]["prompt"], "SAY bye", "{session:#}");
    } else {
        assert_eq!(
            detached.status.code(),
            Some(2),
            "a usage error: {detached:?}"
        );
    }
    check_invariants(&world, Transcripts::Exact);
}

#[test]
fn invalid_input_is_refused_before_any_session_or_process_exists() {
    let world = World::new();
    let missing = world.work.join("no-such-dir");
    let missing = missing.to_str().expect("UTF-8 path");
    let file = world.work.join("a-file");
    std::fs::write(&file, "not a directory").expect("a file");
    let file = file.to_str().expect("UTF-8 path");
    let cases: [&[&str]; 6] = [
        &["run", "--cwd", missing, "SAY hi"],
        &["run", "--detach", "--cwd", missing, "SAY hi"],
        &["run", "--cwd", file, "SAY hi"],
        &["run", "--max-turns", "0", "SAY hi"],
        &["run", "   "],
        &["run", "--detach", "--title", "", "SAY hi"],
    ];
    let mut problems = Vec::new();
    for args in cases {
        let before = world.list().len();
        let output = world.run(args);
        if output.status.success() || output.stderr.is_empty() {
            problems.push(format!(
                "{args:?} was not refused with a message: {output:?}"
            ));
        }
        let after = world.list().len();
        if after != before {
            problems.push(format!(
                "{args:?} created a session: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        assert_no_process_left(&world);
    }
    if world.emitted.exists() {
        problems.push("an agent was started".to_owned());
    }
    let mut limit = world.lulu(&["run", "--detach", "SAY hi"]);
    limit.env("LULU_MAX_RUNNING", "0");
    let before = world.list().len();
    let output = world.run_command(limit);
    if output.status.success() || world.list().len() != before {
        problems.push(format!("LULU_MAX_RUNNING=0 was accepted: {output:?}"));
    }
    assert_no_process_left(&world);
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    let first = world.ok(&["run", "SAY ok"]);
    let id = first.lines().next().expect("the id").to_owned();
    let blank = world.run(&["resume", &id, "  "]);
    assert!(!blank.status.success(), "a blank follow-up was accepted");
    let session = world.show(&id);
    assert_eq!(session["resume_count"], 0, "{session:#}");
    assert_eq!(session["runs"].as_array().map(Vec::len), Some(1));
    check_invariants(&world, Transcripts::Exact);
}
