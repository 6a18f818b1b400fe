//! `lulu run` and `lulu resume`: the daemon owns the run either way; in the foreground
//! this process follows it (see `foreground`), detached it prints the id and returns.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use lulu_domain::{AgentOptions, OptionOverrides, Prompt, SessionSpec, SessionTitle, WorkingDir};
use lulu_runtime::protocol::{Request, Response};

use super::{foreground, Context};
use crate::args::{AgentArgs, ResumeArgs, RunArgs, RunOptionArgs};

/// `lulu run`. Everything the user typed is checked first (exit 2, nothing stored).
pub async fn run(context: &Context, args: RunArgs) -> anyhow::Result<ExitCode> {
    let spec = session_spec(&args)?;
    check_launch(context, &spec.cwd)?;
    if args.detach {
        return detached(context, &start_request(spec)).await;
    }
    foreground::start_and_follow(
        context,
        None,
        &start_request(spec),
        args.json,
        args.on_approval,
    )
    .await
}

/// `lulu resume`. The prompt, the id and whether the session's directory and the agent
/// binary can be used are checked before a run is added to its history.
pub async fn resume(context: &Context, args: ResumeArgs) -> anyhow::Result<ExitCode> {
    let (target, words) = args.target_and_prompt();
    let overrides = option_overrides(&args.options)?;
    let prompt = Prompt::parse(prompt_text(&words)?)?;
    let runtime = context.open().await?;
    let id = super::resolve_or_newest(&runtime, target).await?;
    check_launch(context, &runtime.session(id).await?.cwd)?;
    let request = Request::Resume {
        id,
        prompt: prompt.into(),
        options: overrides,
    };
    if args.detach {
        return detached(context, &request).await;
    }
    foreground::start_and_follow(
        context,
        Some(&runtime),
        &request,
        args.json,
        args.on_approval,
    )
    .await
}

/// The prompt's words joined with spaces, or, for a lone `-`, everything on stdin
/// (`cat task.md | lulu run -`).
fn prompt_text(words: &[String]) -> anyhow::Result<String> {
    if words != ["-"] {
        return Ok(words.join(" "));
    }
    std::io::read_to_string(std::io::stdin().lock()).context("cannot read the prompt from stdin")
}

/// Refuses, as a usage error, a run that could not start: the directory or the agent
/// binary cannot be used.
fn check_launch(context: &Context, cwd: &WorkingDir) -> anyhow::Result<()> {
    lulu_runtime::preflight::check_launch(&context.config.claude_bin, Path::new(cwd.as_str()))?;
    Ok(())
}

/// Has the daemon start (or resume) the session, prints its id and returns.
async fn detached(context: &Context, request: &Request) -> anyhow::Result<ExitCode> {
    match context.ask_daemon(request).await? {
        Response::Session { session } => {
            super::advice::announce(&session, true, false);
            Ok(ExitCode::SUCCESS)
        }
        other => anyhow::bail!("the daemon answered something unexpected: {other:?}"),
    }
}

/// The session `lulu run` asks for, every part of it checked.
fn session_spec(args: &RunArgs) -> anyhow::Result<SessionSpec> {
    let cwd = match &args.cwd {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let cwd = std::path::absolute(&cwd)
        .with_context(|| format!("cannot make {} absolute", cwd.display()))?;
    let cwd = cwd
        .to_str()
        .with_context(|| format!("the directory {} is not valid UTF-8", cwd.display()))?
        .to_owned();
    spec(
        args.title.as_deref(),
        cwd,
        prompt_text(&args.prompt)?,
        AgentOptions {
            keep_open: args.keep_open,
            ..agent_options(&args.agent)?
        },
    )
}

/// What the daemon is asked to start for `spec`.
fn start_request(spec: SessionSpec) -> Request {
    Request::Start {
        title: spec.title.map(String::from),
        cwd: spec.cwd.into(),
        prompt: spec.prompt.into(),
        options: spec.options,
    }
}

fn agent_options(args: &AgentArgs) -> anyhow::Result<AgentOptions> {
    let add_dirs = args
        .add_dirs
        .iter()
        .map(|dir| {
            dir.to_str()
                .map(str::to_owned)
                .with_context(|| format!("the directory {} is not valid UTF-8", dir.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let options = AgentOptions {
        append_system_prompt: args.append_system_prompt.clone(),
        add_dirs,
        ..AgentOptions::default()
    };
    Ok(option_overrides(&args.run)?
        .applied_to(&options)
        .validate()?)
}

/// The run options typed for `run` or `resume`, checked the same way for both (a list
/// typed nowhere is no override).
fn option_overrides(args: &RunOptionArgs) -> anyhow::Result<OptionOverrides> {
    let list = |values: &[String]| (!values.is_empty()).then(|| values.to_vec());
    let overrides = OptionOverrides {
        model: args.model.clone(),
        permission_mode: args.permission_mode.clone(),
        allowed_tools: list(&args.allowed_tools),
        disallowed_tools: list(&args.disallowed_tools),
        max_turns: args.max_turns,
    };
    Ok(overrides.validate()?)
}

fn spec(
    title: Option<&str>,
    cwd: String,
    prompt: String,
    options: AgentOptions,
) -> anyhow::Result<SessionSpec> {
    Ok(SessionSpec {
        title: title.map(SessionTitle::parse).transpose()?,
        cwd: WorkingDir::parse(cwd)?,
        prompt: Prompt::parse(prompt)?,
        options,
    })
}
