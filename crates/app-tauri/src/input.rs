//! The new-session form's input, checked field by field before anything is stored.

use std::path::Path;

use lulu_domain::{AgentOptions, OptionOverrides, Prompt, SessionTitle, WorkingDir};
use lulu_runtime::protocol::Request;

use crate::error::CommandError;
use crate::state::AppState;
use crate::views::StartInput;

/// The permission modes the agent knows.
pub const PERMISSION_MODES: [&str; 5] = [
    "default",
    "acceptEdits",
    "plan",
    "bypassPermissions",
    "dontAsk",
];

/// The checked request for a new session.
pub fn start_request(state: &AppState, input: StartInput) -> Result<Request, CommandError> {
    let prompt = Prompt::parse(input.prompt)?;
    let cwd = input.cwd.trim();
    if cwd.is_empty() {
        return Err(CommandError::input(
            "cwd",
            "invalid_input",
            "choose the working directory the agent runs in",
        ));
    }
    let cwd = WorkingDir::parse(cwd)?;
    let title = blank_to_none(input.title)
        .map(|title| SessionTitle::parse(&title))
        .transpose()?;
    let model = checked_model(input.model)?;
    let permission_mode = checked_permission_mode(input.permission_mode)?;
    let allowed_tools = checked_tools(input.allowed_tools)?;
    check_launch(state, cwd.as_str())?;
    let options = AgentOptions {
        model,
        permission_mode,
        allowed_tools,
        // Desktop sessions stay open between turns for follow-ups from the message box.
        keep_open: true,
        ..AgentOptions::default()
    }
    .validate()?;
    Ok(Request::Start {
        title: title.map(String::from),
        cwd: cwd.into(),
        prompt: prompt.into(),
        options,
    })
}

/// The options a resume gives its run in place of the session's, checked like the
/// new-session form's (blank fields and an empty tool list override nothing).
pub fn resume_overrides(
    model: Option<String>,
    permission_mode: Option<String>,
    allowed_tools: Option<Vec<String>>,
) -> Result<OptionOverrides, CommandError> {
    let allowed_tools = checked_tools(allowed_tools.unwrap_or_default())?;
    let overrides = OptionOverrides {
        model: checked_model(model)?,
        permission_mode: checked_permission_mode(permission_mode)?,
        allowed_tools: (!allowed_tools.is_empty()).then_some(allowed_tools),
        ..OptionOverrides::default()
    };
    Ok(overrides.validate()?)
}

fn checked_model(model: Option<String>) -> Result<Option<String>, CommandError> {
    let model = blank_to_none(model);
    if let Some(model) = &model {
        if model.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(CommandError::input(
                "model",
                "bad_option",
                format!("`{model}` is not a model name: a model name has no spaces"),
            ));
        }
    }
    Ok(model)
}

fn checked_permission_mode(mode: Option<String>) -> Result<Option<String>, CommandError> {
    let mode = blank_to_none(mode);
    if let Some(mode) = &mode {
        if !PERMISSION_MODES.contains(&mode.as_str()) {
            return Err(CommandError::input(
                "permission_mode",
                "bad_option",
                format!(
                    "`{mode}` is not a permission mode: use one of {}",
                    PERMISSION_MODES.join(", ")
                ),
            ));
        }
    }
    Ok(mode)
}

fn checked_tools(tools: Vec<String>) -> Result<Vec<String>, CommandError> {
    let mut checked = Vec::new();
    for tool in tools {
        let tool = tool.trim();
        if tool.chars().any(char::is_control) {
            return Err(CommandError::input(
                "allowed_tools",
                "bad_option",
                "a tool pattern cannot hold control characters",
            ));
        }
        if !tool.is_empty() {
            checked.push(tool.to_owned());
        }
    }
    Ok(checked)
}

/// Refuses a directory or agent binary a run could not start with.
pub fn check_launch(state: &AppState, cwd: &str) -> Result<(), CommandError> {
    lulu_runtime::preflight::check_launch(&state.config().claude_bin, Path::new(cwd))?;
    Ok(())
}

fn blank_to_none(text: Option<String>) -> Option<String> {
    text.map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}
