//! The command line of one run: an argv vector, never a shell string.

use std::ffi::OsString;

use lulu_domain::ports::RunSpec;
use lulu_domain::{AgentOptions, ConversationMode};

/// The flags every run gets: print mode with stream-json on both pipes (`--verbose` is
/// required by `--output-format stream-json`), and the reply's text as it streams
/// (`stream_event` lines: shown live, not stored).
const BASE_FLAGS: [&str; 7] = [
    "-p",
    "--input-format",
    "stream-json",
    "--output-format",
    "stream-json",
    "--verbose",
    "--include-partial-messages",
];

/// The arguments (after the binary) for `spec`.
///
/// A new conversation gets `--session-id <id>`, a continued one `--resume <id>` (never
/// both). The user's options follow in a fixed order, then `extra_args` verbatim. The
/// prompt is not in argv: it goes in on stdin as a stream-json `user` line.
pub fn compose_argv(spec: &RunSpec) -> Vec<OsString> {
    let mut argv: Vec<OsString> = BASE_FLAGS.iter().map(OsString::from).collect();
    let conversation_flag = match spec.mode {
        ConversationMode::New => "--session-id",
        ConversationMode::Resume => "--resume",
    };
    push_option(&mut argv, conversation_flag, &spec.session_id.to_string());
    // Permission requests come to Lulu on stdout (`can_use_tool`) instead of being denied;
    // the user's permission mode and allowed tools still decide what needs asking.
    push_option(&mut argv, "--permission-prompt-tool", "stdio");
    push_user_options(&mut argv, &spec.options);
    argv
}

fn push_user_options(argv: &mut Vec<OsString>, options: &AgentOptions) {
    if let Some(model) = &options.model {
        push_option(argv, "--model", model);
    }
    if let Some(mode) = &options.permission_mode {
        push_option(argv, "--permission-mode", mode);
    }
    for tool in &options.allowed_tools {
        push_option(argv, "--allowedTools", tool);
    }
    for tool in &options.disallowed_tools {
        push_option(argv, "--disallowedTools", tool);
    }
    if let Some(turns) = options.max_turns {
        push_option(argv, "--max-turns", &turns.to_string());
    }
    if let Some(prompt) = &options.append_system_prompt {
        push_option(argv, "--append-system-prompt", prompt);
    }
    for dir in &options.add_dirs {
        push_option(argv, "--add-dir", dir);
    }
    argv.extend(options.extra_args.iter().map(OsString::from));
}

/// Pushes `flag value`, or `flag=value` when the value starts with `-` so the CLI's
/// option parser cannot mistake the value for a flag.
fn push_option(argv: &mut Vec<OsString>, flag: &str, value: &str) {
    if value.starts_with('-') {
        argv.push(format!("{flag}={value}").into());
        return;
    }
    argv.push(flag.into());
    argv.push(value.into());
}

#[cfg(test)]
mod tests {
    use lulu_domain::{Prompt, RunId, SessionId, WorkingDir};
    use uuid::Uuid;

    use super::*;

    fn spec(mode: ConversationMode, options: AgentOptions) -> RunSpec {
        RunSpec {
            session_id: SessionId::from_uuid(Uuid::from_u128(
                0x8d12e9c7_e912_49e2_87ad_7f5c8469e777,
            )),
            run_id: RunId::from_uuid(Uuid::from_u128(1)),
            cwd: WorkingDir::parse("/srv/app").unwrap(),
            prompt: Prompt::parse("Fix the failing test").unwrap(),
            options,
            mode,
        }
    }

    fn argv_text(spec: &RunSpec) -> Vec<String> {
        compose_argv(spec)
            .into_iter()
            .map(|arg| arg.into_string().unwrap())
            .collect()
    }

    #[test]
    fn a_new_conversation_with_default_options() {
        insta::assert_yaml_snapshot!(argv_text(&spec(
            ConversationMode::New,
            AgentOptions::default()
        )));
    }

    #[test]
    fn a_resumed_conversation_uses_resume_and_no_session_id() {
        let argv = argv_text(&spec(ConversationMode::Resume, AgentOptions::default()));
        assert!(!argv.contains(&"--session-id".to_owned()));
        insta::assert_yaml_snapshot!(argv);
    }

    #[test]
    fn every_user_option_in_its_fixed_order() {
        let options = AgentOptions {
            model: Some("claude-opus-4-8".into()),
            permission_mode: Some("acceptEdits".into()),
            allowed_tools: vec!["Bash(git log:*)".into(), "Edit".into()],
            disallowed_tools: vec!["WebFetch".into()],
            max_turns: Some(3),
            append_system_prompt: Some("Answer in French.\nBe brief.".into()),
            add_dirs: vec!["/srv/shared".into(), "/srv/docs with space".into()],
            extra_args: vec!["--include-partial-messages".into()],
            // Lulu's own: never a flag.
            keep_open: true,
        };
        insta::assert_yaml_snapshot!(argv_text(&spec(ConversationMode::New, options)));
    }

    #[test]
    fn option_values_that_look_like_flags_are_joined_with_equals() {
        let options = AgentOptions {
            append_system_prompt: Some("--dangerously-skip-permissions".into()),
            add_dirs: vec!["-weird-dir".into()],
            ..AgentOptions::default()
        };
        insta::assert_yaml_snapshot!(argv_text(&spec(ConversationMode::Resume, options)));
    }
}
