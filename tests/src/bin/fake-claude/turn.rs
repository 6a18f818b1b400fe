//! One turn: the script's lines in the real order, and the interrupted ending when asked.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::emit::{new_message_id, Out, ResultLine};
use crate::script::Script;
use crate::store::{earlier_turns, Store};
use crate::tool::Tool;

/// Why a turn is being cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abort {
    /// The stdin control request: the tool is killed.
    Interrupt,
    /// SIGINT: the tool is left running (2.1.197).
    Signal,
}

/// What the conversation keeps across turns.
#[derive(Debug)]
pub struct Conversation {
    /// Output lines.
    pub out: Out,
    /// Transcripts of this cwd.
    pub store: Store,
    /// The working directory.
    pub cwd: String,
    /// The model name shown in init.
    pub model: String,
    /// The command line it was started with (without the program name).
    pub argv: Vec<String>,
    /// One `SLOW` tick.
    pub tick: Duration,
    /// Pause between API retries.
    pub retry_delay: Duration,
    /// `CLAUDE_CODE_MAX_RETRIES`.
    pub max_retries: u32,
    /// What may run unasked, and whether permission requests go to stdout.
    pub permissions: Permissions,
    /// While a tool runs or a permission request waits: the user lines that came in
    /// meanwhile, which join the running turn (`None` otherwise: lines are queued).
    pub folded: std::sync::Mutex<Option<Vec<String>>>,
}

impl Conversation {
    /// A tool starts (or a permission request waits): user lines now join the turn.
    pub fn begin_tool(&self) {
        self.folded_lock().get_or_insert_with(Vec::new);
    }

    /// The tool ended: the user lines that joined the turn meanwhile.
    pub fn end_tool(&self) -> Vec<String> {
        self.folded_lock().take().unwrap_or_default()
    }

    /// Joins `text` to the running turn if a tool runs; false if it must be queued.
    pub fn fold(&self, text: &str) -> bool {
        self.folded_lock()
            .as_mut()
            .map(|folded| folded.push(text.to_owned()))
            .is_some()
    }

    fn folded_lock(&self) -> std::sync::MutexGuard<'_, Option<Vec<String>>> {
        self.folded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How a turn ended.
#[derive(Debug, Clone)]
pub struct TurnEnd {
    /// The result line's `is_error`.
    pub is_error: bool,
    /// The result line.
    pub result: Value,
    /// The reply text (text output mode).
    pub text: String,
}

#[path = "permit.rs"]
mod permit;
pub use permit::Permissions;

/// The model name on assistant lines.
const MESSAGE_MODEL: &str = "claude-opus-4-8";

/// One running turn.
struct Turn {
    conversation: Arc<Conversation>,
    abort: watch::Receiver<Option<Abort>>,
    started: Instant,
    message_id: String,
    prompt: String,
    /// Answers to this turn's permission requests (`control_response` lines on stdin);
    /// `None` once stdin is closed.
    answers: Option<mpsc::UnboundedReceiver<Value>>,
}

/// Runs `script` for `prompt`, watching `abort`.
pub async fn run_turn(
    conversation: Arc<Conversation>,
    prompt: String,
    script: Script,
    abort: watch::Receiver<Option<Abort>>,
    answers: Option<mpsc::UnboundedReceiver<Value>>,
) -> TurnEnd {
    let out = &conversation.out;
    out.init(&conversation.cwd, &conversation.model);
    let earlier = earlier_turns(&conversation.store.load(&out.session_id));
    let prompt_entry = json!({"type": "user", "message": {"role": "user", "content": prompt}, "sessionId": out.session_id, "cwd": conversation.cwd});
    conversation.store.append(&out.session_id, &prompt_entry);
    let mut turn = Turn {
        conversation: Arc::clone(&conversation),
        abort,
        started: Instant::now(),
        message_id: new_message_id(),
        prompt,
        answers,
    };
    match script {
        Script::Reply(text) => turn.reply(&text),
        Script::Echo => {
            let text = turn.prompt.clone();
            turn.reply(&text)
        }
        Script::Argv => {
            let text = serde_json::to_string(&conversation.argv).unwrap_or_default();
            turn.reply(&text)
        }
        Script::History => turn.reply(&format!("This conversation holds {earlier} earlier turns.")),
        Script::Slow(ticks) => turn.slow(ticks).await,
        Script::Bash(command) => turn.bash(&command).await,
        Script::Permit(command) => turn.permit(&command).await,
        Script::Fail => turn.fail().await,
        Script::Malformed => {
            Out::raw(r#"{"type":"assistant","message":{"content":["#);
            turn.reply("Sent a malformed line.")
        }
        Script::Huge(mib) => {
            let size = usize::try_from(mib).unwrap_or(1) * 1024 * 1024;
            let block = json!({"type": "text", "text": "x".repeat(size)});
            turn.conversation
                .out
                .assistant(&turn.message_id, MESSAGE_MODEL, &block);
            turn.text("Sent a huge line.");
            // As the real CLI does, the result repeats the reply: a second huge line.
            turn.success(&"x".repeat(size), 1)
        }
        Script::Stderr(mb) => {
            flood_stderr(u64::from(mb) * 1_000_000);
            turn.reply("Flooded stderr.")
        }
        Script::Crash => {
            turn.text("About to crash.");
            std::process::abort();
        }
        Script::Dump(kb) => {
            turn.text("About to crash with a dump.");
            crash_dump(u64::from(kb) * 1000);
            std::process::abort();
        }
    }
}

impl Turn {
    fn out(&self) -> &Out {
        &self.conversation.out
    }

    /// Emits one assistant text block (streamed first, with partials) and keeps it in
    /// the transcript.
    fn text(&self, text: &str) {
        self.out().open_message(&self.message_id, MESSAGE_MODEL);
        self.out().block_start(&json!({"type": "text", "text": ""}));
        self.out().text_deltas(text);
        self.finish_text(text);
    }

    /// The complete `assistant` line of the text block being streamed, then its end.
    fn finish_text(&self, text: &str) {
        let block = json!({"type": "text", "text": text});
        let line = self
            .out()
            .assistant(&self.message_id, MESSAGE_MODEL, &block);
        self.keep(&line);
        self.out().block_stop();
    }

    /// Emits a `tool_use` block (its input streamed first, with partials), keeps it, and
    /// ends the message: the tool runs next.
    fn tool_use(&self, tool_use_id: &str, input: &Value) {
        let out = self.out();
        out.open_message(&self.message_id, MESSAGE_MODEL);
        out.block_start(
            &json!({"type": "tool_use", "id": tool_use_id, "name": "Bash", "input": {}}),
        );
        out.delta(&json!({"type": "input_json_delta", "partial_json": input.to_string()}));
        let block = json!({"type": "tool_use", "id": tool_use_id, "name": "Bash", "input": input});
        let line = out.assistant(&self.message_id, MESSAGE_MODEL, &block);
        self.keep(&line);
        out.block_stop();
        out.close_message("tool_use");
    }

    fn keep(&self, line: &Value) {
        self.conversation.store.append(&self.out().session_id, line);
    }

    fn reply(&self, text: &str) -> TurnEnd {
        self.text(text);
        self.success(text, 1)
    }

    fn success(&self, text: &str, num_turns: u32) -> TurnEnd {
        self.end(
            ResultLine {
                subtype: "success",
                text: Some(text.to_owned()),
                num_turns,
                stop_reason: Some("end_turn"),
                terminal_reason: Some("completed"),
                ..ResultLine::default()
            },
            text,
        )
    }

    fn end(&self, mut result: ResultLine, text: &str) -> TurnEnd {
        self.out()
            .close_message(result.stop_reason.unwrap_or("end_turn"));
        result.duration_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(0);
        let line = result.to_json(&self.out().session_id);
        self.out().line(&line);
        TurnEnd {
            is_error: result.is_error,
            result: line,
            text: text.to_owned(),
        }
    }

    /// Waits `duration` unless an abort comes first.
    async fn pause(&mut self, duration: Duration) -> Option<Abort> {
        if duration.is_zero() {
            // A zero tick streams as fast as it can (a timer would round it up to a
            // millisecond): only an abort already asked for stops it.
            tokio::task::yield_now().await;
            return *self.abort.borrow();
        }
        tokio::select! {
            () = tokio::time::sleep(duration) => None,
            abort = self.abort.wait_for(Option::is_some) => abort.ok().and_then(|abort| *abort),
        }
    }

    /// The interrupted ending: partial block, marker, error result.
    fn interrupted(
        &self,
        partial: Option<&str>,
        marker: &str,
        tools: bool,
        num_turns: u32,
    ) -> TurnEnd {
        if let Some(partial) = partial {
            // Already streamed: its complete line is flushed as it stands.
            self.finish_text(partial);
        }
        let marker_line = self
            .out()
            .user(&json!([{"type": "text", "text": marker}]), None);
        self.keep(&marker_line);
        self.end(
            ResultLine {
                subtype: "error_during_execution",
                is_error: true,
                errors: vec![
                    "[ede_diagnostic] result_type=user last_content_type=n/a stop_reason=null"
                        .into(),
                ],
                num_turns,
                stop_reason: tools.then_some("tool_use"),
                terminal_reason: Some(if tools {
                    "aborted_tools"
                } else {
                    "aborted_streaming"
                }),
                ..ResultLine::default()
            },
            "",
        )
    }

    async fn slow(&mut self, ticks: u32) -> TurnEnd {
        let mut said = String::new();
        for tick in 1..=ticks {
            let out = self.out();
            out.open_message(&self.message_id, MESSAGE_MODEL);
            out.block_start(&json!({"type": "text", "text": ""}));
            let partial = format!("tick {tick}");
            out.delta(&json!({"type": "text_delta", "text": partial}));
            if self.pause(self.conversation.tick).await.is_some() {
                return self.interrupted(Some(&partial), "[Request interrupted by user]", false, 1);
            }
            self.out()
                .delta(&json!({"type": "text_delta", "text": ". "}));
            let text = format!("{partial}. ");
            self.finish_text(&text);
            said.push_str(&text);
        }
        self.success(said.trim_end(), 1)
    }

    async fn bash(&mut self, command: &str) -> TurnEnd {
        let tool_use_id = self.call_bash(command);
        self.run_bash(&tool_use_id, command).await
    }

    /// Says it will run `command` and emits the `tool_use` line; returns the call's id.
    fn call_bash(&self, command: &str) -> String {
        let tool_use_id = format!("toolu_{}", uuid::Uuid::new_v4().simple());
        self.text("I'll run that command.");
        let input = json!({"command": command, "description": "Run the requested command"});
        self.tool_use(&tool_use_id, &input);
        tool_use_id
    }

    /// Runs the called `command` to its end (or the abort) and ends the turn.
    async fn run_bash(&mut self, tool_use_id: &str, command: &str) -> TurnEnd {
        let tool_use_id = tool_use_id.to_owned();
        self.conversation.begin_tool();
        let mut tool = match Tool::start(command, &self.conversation.cwd) {
            Ok(tool) => tool,
            Err(error) => {
                return self.tool_done(&tool_use_id, 127, &format!("setsid: {error}"), "")
            }
        };
        let abort = tokio::select! {
            output = tool.finish() => Err(output),
            abort = self.abort.wait_for(Option::is_some) => Ok(abort.ok().and_then(|abort| *abort)),
        };
        let abort = match abort {
            Ok(abort) => abort,
            Err(output) => {
                return self.tool_done(&tool_use_id, output.code, &output.stdout, &output.stderr)
            }
        };
        self.conversation.end_tool();
        match abort {
            Some(Abort::Signal) | None => tool.orphan(),
            Some(Abort::Interrupt) => tool.kill().await,
        }
        let rejected = json!([{"type": "tool_result", "tool_use_id": tool_use_id, "content": "User rejected tool use", "is_error": true}]);
        let line = self
            .out()
            .user(&rejected, Some(json!("User rejected tool use")));
        self.keep(&line);
        self.interrupted(None, "[Request interrupted by user for tool use]", true, 1)
    }

    fn tool_done(&mut self, tool_use_id: &str, code: i32, stdout: &str, stderr: &str) -> TurnEnd {
        let content = if stderr.is_empty() {
            stdout.to_owned()
        } else {
            format!("{stdout}\n{stderr}")
        };
        let result = json!([{"tool_use_id": tool_use_id, "type": "tool_result", "content": content, "is_error": code != 0}]);
        let line = self.out().user(
            &result,
            Some(
                json!({"stdout": stdout, "stderr": stderr, "interrupted": false, "isImage": false}),
            ),
        );
        self.keep(&line);
        self.message_id = new_message_id();
        let text = format!("The command finished with exit code {code}.");
        let text = with_folded(text, &self.conversation.end_tool());
        self.text(&text);
        self.success(&text, 2)
    }

    async fn fail(&mut self) -> TurnEnd {
        let max_retries = self.conversation.max_retries;
        for attempt in 1..=max_retries {
            let delay = self.conversation.retry_delay;
            self.out().line(&json!({
                "type": "system", "subtype": "api_retry", "attempt": attempt, "max_retries": max_retries,
                "retry_delay_ms": u64::try_from(delay.as_millis()).unwrap_or(0), "error_status": 500,
                "error": "server_error", "session_id": self.out().session_id, "uuid": crate::emit::new_uuid(),
            }));
            if self.pause(delay).await.is_some() {
                return self.interrupted(None, "[Request interrupted by user]", false, 1);
            }
        }
        let text = r#"API Error: 500 {"type":"error","error":{"type":"api_error","message":"Internal server error"}}"#;
        let mut line = self.out().assistant(
            &self.message_id,
            "<synthetic>",
            &json!({"type": "text", "text": text}),
        );
        line["error"] = json!("server_error");
        self.keep(&line);
        self.end(
            ResultLine {
                subtype: "success",
                is_error: true,
                text: Some(text.to_owned()),
                num_turns: 1,
                stop_reason: Some("stop_sequence"),
                terminal_reason: Some("completed"),
                api_error_status: Some(500),
                ..ResultLine::default()
            },
            text,
        )
    }
}

/// The reply, addressing the user lines that joined the turn while a tool ran.
pub(crate) fn with_folded(reply: String, folded: &[String]) -> String {
    if folded.is_empty() {
        return reply;
    }
    format!("{reply} You also said: {}", folded.join(" / "))
}

/// Writes a crash dump of about `bytes` to stderr, the way Node prints a fatal error:
/// a blank line, a banner, the error, a stack of frames, and a last line.
fn crash_dump(bytes: u64) {
    let mut stderr = std::io::stderr().lock();
    let _ = write!(
        stderr,
        "\n<--- Last few GCs --->\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n"
    );
    let frame = "    at Object.fakeFrame (/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js:1234:56)\n";
    let mut written = 0_u64;
    while written < bytes {
        let _ = stderr.write_all(frame.as_bytes());
        written += frame.len() as u64;
    }
    let _ = writeln!(stderr, "end of the crash dump");
    let _ = stderr.flush();
}

/// Writes `bytes` of text to stderr.
fn flood_stderr(bytes: u64) {
    let chunk = "stderr flood line from fake-claude ..........................................\n"
        .repeat(800);
    let mut stderr = std::io::stderr().lock();
    let mut written = 0_u64;
    while written < bytes {
        if stderr.write_all(chunk.as_bytes()).is_err() {
            return;
        }
        written += chunk.len() as u64;
    }
}
