//! `fake-claude`: a stand-in for the Claude Code CLI in Lulu's tests and demos.
//!
//! It accepts the real CLI's flags, refuses bad ones with the same texts and exit codes,
//! speaks the same stream-json protocol (line shapes and order, the stdin control
//! protocol, signal exit codes), keeps transcripts under its config dir keyed by cwd,
//! and runs tools under `setsid` like the real CLI. What it does in a turn is chosen by
//! keywords in the last user text (see `script.rs`). It never touches the network.
//!
//! Environment: `CLAUDE_CONFIG_DIR` / `HOME` (transcripts), `CLAUDE_CODE_MAX_RETRIES`
//! (`FAIL` retries, default 10), `FAKE_CLAUDE_TICK_MS` (one `SLOW` tick, default 1000; 0 streams as fast as it can),
//! `FAKE_CLAUDE_RETRY_MS` (pause between retries, default 10), `IS_SANDBOX`,
//! `FAKE_CLAUDE_EMITTED` (a file that records every stdout line written; see `emitted.rs`).
//!
//! Invariants: every line is flushed as it is written; it exits only as the real CLI
//! would (stdin EOF, signals, refusals, `CRASH`).

mod args;
mod emit;
mod emitted;
mod partials;
mod script;
mod store;
mod stream_input;
mod tool;
mod turn;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use args::{InputFormat, OutputFormat};
use emit::{new_uuid, Out, ResultLine};
use store::{config_dir, Store};
use turn::Conversation;

/// The model shown in init when `--model` is absent.
const DEFAULT_MODEL: &str = "claude-opus-4-8[1m]";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let code = run(&argv).await;
    std::process::exit(code);
}

async fn run(argv: &[String]) -> i32 {
    let args = match args::parse(argv) {
        Ok(args) => args,
        Err(message) => return refuse(&message),
    };
    if args.version {
        println!("{}", args::VERSION);
        return 0;
    }
    let is_root = nix::unistd::geteuid().is_root();
    if let Some(message) = args::refusal(
        &args,
        is_root,
        std::env::var("IS_SANDBOX").as_deref() == Ok("1"),
    ) {
        return refuse(&message);
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let store = Store::new(&config_dir(), &cwd, !args.no_persistence);
    let session_id = match conversation_id(&args, &store) {
        Ok(id) => id,
        Err(code) => return code,
    };
    let streaming = args.output_format == OutputFormat::StreamJson;
    let conversation = Arc::new(Conversation {
        out: Out::new(session_id, streaming, args.include_partial && streaming),
        store,
        cwd: cwd.to_string_lossy().into_owned(),
        model: args
            .model
            .clone()
            .unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
        argv: argv.to_vec(),
        tick: Duration::from_millis(env_number("FAKE_CLAUDE_TICK_MS", 1000)),
        retry_delay: Duration::from_millis(env_number("FAKE_CLAUDE_RETRY_MS", 10)),
        max_retries: u32::try_from(env_number("CLAUDE_CODE_MAX_RETRIES", 10)).unwrap_or(10),
        permissions: turn::Permissions::of(&args),
        folded: std::sync::Mutex::default(),
    });
    match args.input_format {
        InputFormat::StreamJson => stream_input::serve(conversation).await.unwrap_or(1),
        InputFormat::Text => {
            text_turn(
                conversation,
                args.prompt.clone().unwrap_or_default(),
                args.output_format,
            )
            .await
        }
    }
}

/// The conversation id: new (`--session-id` or random), resumed, or forked.
fn conversation_id(args: &args::Args, store: &Store) -> Result<String, i32> {
    let Some(resume) = &args.resume else {
        let id = args.session_ids.first().cloned().unwrap_or_else(new_uuid);
        if store.exists(&id) {
            return Err(refuse(&format!(
                "Error: Session ID {id} is already in use."
            )));
        }
        return Ok(id);
    };
    if uuid::Uuid::parse_str(resume).is_err() {
        print_lone_error(&new_uuid(), "Unknown session");
        return Err(refuse(&args::resume_not_a_uuid(resume)));
    }
    if !store.exists(resume) {
        let message = format!("No conversation found with session ID: {resume}");
        print_lone_error(resume, &message);
        return Err(refuse(&message));
    }
    if !args.fork_session {
        return Ok(resume.clone());
    }
    let forked = args.session_ids.first().cloned().unwrap_or_else(new_uuid);
    store.fork(resume, &forked);
    Ok(forked)
}

/// The only stdout line of a failed resume.
fn print_lone_error(session_id: &str, error: &str) {
    let line = ResultLine {
        subtype: "error_during_execution",
        is_error: true,
        errors: vec![error.to_owned()],
        ..ResultLine::default()
    };
    Out::new(session_id.to_owned(), true, false).line(&line.to_json(session_id));
}

fn refuse(message: &str) -> i32 {
    eprintln!("{message}");
    1
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Text input: the argv prompt (plus piped stdin text), one turn, output per format.
///
/// Signals as the real CLI: SIGINT while the turn runs ends it with the partial text, the
/// interrupted marker and an `error_during_execution` result, then exits 0 (`IGNORE_INT`
/// ignores it); SIGTERM exits 143 and SIGHUP 129, silently.
async fn text_turn(conversation: Arc<Conversation>, prompt: String, format: OutputFormat) -> i32 {
    use tokio::signal::unix::{signal, SignalKind};
    let prompt = match piped_stdin().await {
        Some(extra) if !extra.is_empty() => format!("{prompt}\n\n{extra}"),
        _ => prompt,
    };
    let (script, ignore_int) = script::choose(&prompt);
    let (Ok(mut sigint), Ok(mut sigterm), Ok(mut sighup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return 1;
    };
    let (abort, watch) = tokio::sync::watch::channel(None);
    let mut turn = tokio::spawn(turn::run_turn(conversation, prompt, script, watch, None));
    let mut signalled = false;
    let end = loop {
        tokio::select! {
            end = &mut turn => break end,
            _ = sigint.recv(), if !ignore_int => {
                signalled = true;
                let _ = abort.send(Some(turn::Abort::Signal));
            }
            _ = sigterm.recv() => return 143,
            _ = sighup.recv() => return 129,
        }
    };
    let Ok(end) = end else {
        return 1;
    };
    match format {
        OutputFormat::Text => println!("{}", end.text),
        OutputFormat::Json => println!("{}", end.result),
        OutputFormat::StreamJson => {}
    }
    if signalled {
        0
    } else {
        i32::from(end.is_error)
    }
}

/// Text piped on stdin; after 3 s of silence on an open pipe, a warning and nothing.
async fn piped_stdin() -> Option<String> {
    use tokio::io::AsyncReadExt;
    if std::io::stdin().is_terminal() {
        return None;
    }
    let mut text = String::new();
    let mut stdin = tokio::io::stdin();
    let read = stdin.read_to_string(&mut text);
    if let Ok(result) = tokio::time::timeout(Duration::from_secs(3), read).await {
        return result.ok().map(|_| text.trim_end().to_owned());
    }
    eprintln!("Warning: no stdin data received in 3s, proceeding without it. If piping from a slow command, redirect stdin explicitly: < /dev/null to skip, or wait longer.");
    None
}
