//! The command line, parsed like the real CLI parses it, with its exact refusals.

use uuid::Uuid;

/// The version `--version` prints.
pub const VERSION: &str = "2.1.197 (Claude Code)";

/// How input arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// The prompt is in argv (and maybe stdin text).
    Text,
    /// JSON lines on stdin: user messages and control requests.
    StreamJson,
}

/// How output is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// The final text only.
    Text,
    /// The result object only.
    Json,
    /// Every message, one JSON line each.
    StreamJson,
}

/// The parsed command line.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // one field per CLI flag, on purpose
pub struct Args {
    /// `-p` / `--print`.
    pub print: bool,
    /// `--version`.
    pub version: bool,
    /// `--input-format`.
    pub input_format: InputFormat,
    /// `--output-format`.
    pub output_format: OutputFormat,
    /// `--verbose`.
    pub verbose: bool,
    /// Every `--session-id` value given (more than one is refused).
    pub session_ids: Vec<String>,
    /// `--resume` / `-r`.
    pub resume: Option<String>,
    /// `--continue` / `-c`.
    pub continue_last: bool,
    /// `--fork-session`.
    pub fork_session: bool,
    /// `--model`.
    pub model: Option<String>,
    /// `--permission-mode`.
    pub permission_mode: Option<String>,
    /// `--dangerously-skip-permissions`.
    pub skip_permissions: bool,
    /// `--include-partial-messages`.
    pub include_partial: bool,
    /// `--no-session-persistence`.
    pub no_persistence: bool,
    /// `--permission-prompt-tool` (`stdio`: permission requests go to stdout).
    pub permission_prompt_tool: Option<String>,
    /// `--mcp-config` files.
    pub mcp_configs: Vec<String>,
    /// `--allowedTools` / `--allowed-tools` values (comma- or space-separated rules).
    pub allowed_tools: Vec<String>,
    /// The positional prompt.
    pub prompt: Option<String>,
}

/// Options that take one value.
const VALUE_OPTIONS: &[&str] = &[
    "--input-format",
    "--output-format",
    "--session-id",
    "--resume",
    "-r",
    "--model",
    "--permission-mode",
    "--max-turns",
    "--append-system-prompt",
    "--system-prompt",
    "--settings",
    "--fallback-model",
    "--max-budget-usd",
    "--permission-prompt-tool",
];
/// Options that take one or more values (until the next option).
const LIST_OPTIONS: &[&str] = &[
    "--allowedTools",
    "--allowed-tools",
    "--disallowedTools",
    "--disallowed-tools",
    "--add-dir",
    "--mcp-config",
];
/// Options without a value.
const FLAGS: &[&str] = &[
    "-p",
    "--print",
    "--verbose",
    "--version",
    "-v",
    "--fork-session",
    "--continue",
    "-c",
    "--dangerously-skip-permissions",
    "--include-partial-messages",
    "--no-session-persistence",
];

/// Parses argv (without the program name). `Err` is the message for stderr (exit 1).
pub fn parse(argv: &[String]) -> Result<Args, String> {
    let mut args = Args {
        print: false,
        version: false,
        input_format: InputFormat::Text,
        output_format: OutputFormat::Text,
        verbose: false,
        session_ids: Vec::new(),
        resume: None,
        continue_last: false,
        fork_session: false,
        model: None,
        permission_mode: None,
        skip_permissions: false,
        include_partial: false,
        no_persistence: false,
        permission_prompt_tool: None,
        mcp_configs: Vec::new(),
        allowed_tools: Vec::new(),
        prompt: None,
    };
    let mut rest = argv.iter().peekable();
    while let Some(arg) = rest.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        if !name.starts_with('-') || name == "-" {
            args.prompt.get_or_insert_with(|| arg.clone());
            continue;
        }
        if FLAGS.contains(&name) {
            set_flag(&mut args, name);
        } else if VALUE_OPTIONS.contains(&name) {
            let value = inline
                .or_else(|| rest.next().cloned())
                .ok_or_else(|| format!("error: option '{name} <value>' argument missing"))?;
            set_value(&mut args, name, value)?;
        } else if LIST_OPTIONS.contains(&name) {
            let mut values: Vec<String> = inline.into_iter().collect();
            while let Some(next) = rest.next_if(|next| !next.starts_with('-')) {
                values.push(next.clone());
            }
            match name {
                "--mcp-config" => args.mcp_configs.extend(values),
                "--allowedTools" | "--allowed-tools" => args.allowed_tools.extend(
                    values
                        .iter()
                        .flat_map(|value| value.split([',', ' ']))
                        .filter(|rule| !rule.is_empty())
                        .map(str::to_owned),
                ),
                _ => {}
            }
        } else {
            return Err(format!("error: unknown option '{name}'"));
        }
    }
    Ok(args)
}

fn set_flag(args: &mut Args, name: &str) {
    match name {
        "-p" | "--print" => args.print = true,
        "--verbose" => args.verbose = true,
        "--version" | "-v" => args.version = true,
        "--fork-session" => args.fork_session = true,
        "--continue" | "-c" => args.continue_last = true,
        "--dangerously-skip-permissions" => args.skip_permissions = true,
        "--include-partial-messages" => args.include_partial = true,
        _ => args.no_persistence = true,
    }
}

fn set_value(args: &mut Args, name: &str, value: String) -> Result<(), String> {
    match name {
        "--input-format" => {
            args.input_format = match value.as_str() {
                "text" => InputFormat::Text,
                "stream-json" => InputFormat::StreamJson,
                _ => return Err(invalid_choice(name, &value, "\"text\", \"stream-json\"")),
            };
        }
        "--output-format" => {
            args.output_format = match value.as_str() {
                "text" => OutputFormat::Text,
                "json" => OutputFormat::Json,
                "stream-json" => OutputFormat::StreamJson,
                _ => {
                    return Err(invalid_choice(
                        name,
                        &value,
                        "\"text\", \"json\", \"stream-json\"",
                    ))
                }
            };
        }
        "--session-id" => args.session_ids.push(value),
        "--resume" | "-r" => args.resume = Some(value),
        "--model" => args.model = Some(value),
        "--permission-mode" => args.permission_mode = Some(value),
        "--permission-prompt-tool" => args.permission_prompt_tool = Some(value),
        _ => {}
    }
    Ok(())
}

fn invalid_choice(name: &str, value: &str, choices: &str) -> String {
    format!("error: option '{name} <format>' argument '{value}' is invalid. Allowed choices are {choices}.")
}

/// What the CLI refuses before doing anything, checked in the CLI's order.
pub fn refusal(args: &Args, is_root: bool, is_sandbox: bool) -> Option<String> {
    if args.print && args.output_format == OutputFormat::StreamJson && !args.verbose {
        return Some(
            "Error: When using --print, --output-format=stream-json requires --verbose".into(),
        );
    }
    let bad_id = args.session_ids.len() > 1
        || args
            .session_ids
            .iter()
            .any(|id| Uuid::parse_str(id).is_err());
    if bad_id {
        return Some("Error: Invalid session ID. Must be a valid UUID.".into());
    }
    if !args.session_ids.is_empty()
        && (args.resume.is_some() || args.continue_last)
        && !args.fork_session
    {
        return Some("Error: --session-id can only be used with --continue or --resume if --fork-session is also specified.".into());
    }
    let bypass =
        args.skip_permissions || args.permission_mode.as_deref() == Some("bypassPermissions");
    if bypass && is_root && !is_sandbox {
        return Some("--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons".into());
    }
    if let Some(missing) = args
        .mcp_configs
        .iter()
        .find(|path| !std::path::Path::new(path).is_file())
    {
        return Some(format!(
            "Error: Invalid MCP configuration:\nMCP config file not found: {missing}"
        ));
    }
    None
}

/// The refusal of a `--resume` value that is not a UUID (it also prints a result line).
pub fn resume_not_a_uuid(value: &str) -> String {
    format!(
        "Error: --resume requires a valid session ID or session title when used with --print. Usage: claude -p --resume <session-id|title>. Provided value \"{value}\" is not a UUID and does not match any session title."
    )
}

/// Whether a Bash call that changes files runs without asking: `--allowedTools Bash`
/// (or a `Bash(…)` rule), `acceptEdits` (as `touch` does on the real CLI), or no
/// permission checks at all. Otherwise the real CLI in print mode refuses it at once.
pub fn bash_allowed(args: &Args) -> bool {
    args.skip_permissions
        || matches!(
            args.permission_mode.as_deref(),
            Some("acceptEdits" | "bypassPermissions")
        )
        || args
            .allowed_tools
            .iter()
            .any(|rule| rule == "Bash" || rule.starts_with("Bash("))
}
