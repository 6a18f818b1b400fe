//! stream-json input: user lines start turns, control requests interrupt them, stdin EOF
//! ends the process (exit 1 if the last result was an error), signals as the real CLI.

use std::collections::VecDeque;
use std::sync::Arc;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::script::choose;
use crate::turn::{run_turn, Abort, Conversation, TurnEnd};

/// The turn in progress.
struct Running {
    task: JoinHandle<TurnEnd>,
    abort: watch::Sender<Option<Abort>>,
    ignore_int: bool,
    /// Answers to the turn's permission requests; dropped when stdin closes.
    answers: Option<mpsc::UnboundedSender<Value>>,
}

/// Serves the conversation until stdin closes or a signal ends it; returns the exit code.
pub async fn serve(conversation: Arc<Conversation>) -> std::io::Result<i32> {
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut queue: VecDeque<String> = VecDeque::new();
    let mut running: Option<Running> = None;
    let mut stdin_open = true;
    let mut last_error = false;
    loop {
        if running.is_none() {
            if !queue.is_empty() {
                // Lines queued while a turn streamed make one turn together.
                let prompt = queue.drain(..).collect::<Vec<_>>().join("\n");
                running = Some(start(&conversation, prompt));
            } else if !stdin_open {
                return Ok(i32::from(last_error));
            }
        }
        tokio::select! {
            line = stdin.next_line(), if stdin_open => {
                if let Ok(Some(line)) = line {
                    on_input(&line, &conversation, &mut queue, running.as_ref());
                } else {
                    stdin_open = false;
                    if let Some(turn) = running.as_mut() {
                        turn.answers = None;
                    }
                }
            }
            end = async {
                match running.as_mut() {
                    Some(turn) => (&mut turn.task).await,
                    None => std::future::pending().await,
                }
            }, if running.is_some() => {
                let signalled = running.take().is_some_and(|turn| *turn.abort.borrow() == Some(Abort::Signal));
                last_error = end.is_ok_and(|end| end.is_error);
                if signalled {
                    return Ok(0);
                }
            }
            _ = sigint.recv() => match &running {
                Some(turn) if turn.ignore_int => {}
                Some(turn) => { let _ = turn.abort.send(Some(Abort::Signal)); }
                None => return Ok(0),
            },
            _ = sigterm.recv() => return Ok(143),
            _ = sighup.recv() => return Ok(129),
        }
    }
}

fn start(conversation: &Arc<Conversation>, prompt: String) -> Running {
    let (script, ignore_int) = choose(&prompt);
    let (abort, watch) = watch::channel(None);
    let (answers, answered) = mpsc::unbounded_channel();
    let task = tokio::spawn(run_turn(
        Arc::clone(conversation),
        prompt,
        script,
        watch,
        Some(answered),
    ));
    Running {
        task,
        abort,
        ignore_int,
        answers: Some(answers),
    }
}

fn on_input(
    line: &str,
    conversation: &Conversation,
    queue: &mut VecDeque<String>,
    running: Option<&Running>,
) {
    let Ok(message) = serde_json::from_str::<Value>(line) else {
        eprintln!(
            "Error parsing streaming input line: {}",
            line.chars().take(80).collect::<String>()
        );
        return;
    };
    match message["type"].as_str() {
        Some("user") => {
            // During a tool or a pending permission request it joins the running turn;
            // otherwise it waits for the next one.
            let text = user_text(&message["message"]["content"]);
            if running.is_none() || !conversation.fold(&text) {
                queue.push_back(text);
            }
        }
        Some("control_request") => {
            let request_id = message["request_id"].as_str().unwrap_or_default();
            let interrupt = message["request"]["subtype"] == "interrupt";
            let interrupting = running.filter(|turn| interrupt && !turn.ignore_int);
            if interrupting.is_some() {
                // A pending permission request is withdrawn before the interrupt is answered.
                if let Some(pending) = conversation.permissions.take_pending() {
                    conversation.out.control_cancel(&pending);
                }
            }
            conversation.out.control_response(request_id);
            if let Some(turn) = interrupting {
                let _ = turn.abort.send(Some(Abort::Interrupt));
            }
        }
        Some("control_response") => {
            if let Some(answers) = running.and_then(|turn| turn.answers.as_ref()) {
                let _ = answers.send(message["response"].clone());
            }
        }
        _ => {}
    }
}

/// The text of a user message: a string, or its text blocks joined.
pub fn user_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|block| block["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}
