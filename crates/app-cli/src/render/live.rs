//! A foreground run as it happens: the reply's text as it streams, the stored transcript
//! lines, and one status line at the bottom (spinner, elapsed time, cost so far, the tool
//! at work: `⠋ working · 12s · $0.04 · Bash`).
//!
//! Streamed text is shown only when stdout is a terminal, the status line only when
//! stdout and stderr both are; piped output is the stored transcript alone, line by line.
//! When the complete text block arrives (stored), only what was not streamed yet is
//! printed, so nothing is said twice.

use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use unicode_width::UnicodeWidthChar as _;

use lulu_domain::{AgentEvent, Session, TranscriptEntry};

use super::json::{EntryJson, SessionJson};
use super::notes::claude_problem;
use super::safe::{safe_line, safe_text};
use super::style::{paint, DIM, ERROR, WARN};
use super::transcript::{event_line, final_line, refused_lines};

/// The status line's spinner frames.
const SPINNER: &str = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ";
/// The status line without text in progress.
const ONE_LINE: &str = "{spinner} working · {elapsed} · {msg}";
/// The status line under the unfinished line of streamed text.
const TWO_LINES: &str = "{prefix}\n{spinner} working · {elapsed} · {msg}";

/// What a foreground run shows while it runs.
pub struct LiveView {
    /// The status line (stderr), when both streams are terminals.
    bar: Option<ProgressBar>,
    /// Whether streamed text is shown (stdout is a terminal).
    streams: bool,
    /// The streamed text of the block in progress already printed (whole lines, or
    /// everything without a status line).
    shown: String,
    /// With a status line: the unfinished line, shown above it.
    pending: String,
    /// The tool at work, if any.
    tool: Option<String>,
    /// Cost so far, in US dollars.
    cost_usd: f64,
    /// `--json`: entries as JSON lines, nothing else on stdout.
    json: bool,
    /// While the user is asked something on the terminal: the status line, taken down,
    /// had been running this long.
    held: Option<Duration>,
    /// The last text block printed (an API error is said there, then not again).
    last_text: String,
    /// Whether it said why transcript lines were lost.
    told_lost_lines: bool,
}

/// The status line as it is drawn to `target`, its clock started `elapsed` ago.
pub fn status_bar(target: ProgressDrawTarget, elapsed: Duration) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, target).with_elapsed(elapsed);
    bar.set_style(style(ONE_LINE));
    bar
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .tick_chars(SPINNER)
        .with_key(
            "elapsed",
            |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = out.write_str(&elapsed(state.elapsed()));
            },
        )
}

/// `12 s`, `4 min 05 s`.
fn elapsed(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds < 60 {
        format!("{seconds} s")
    } else {
        format!("{} min {:02} s", seconds / 60, seconds % 60)
    }
}

/// The status line's changing part: cost so far, and the tool at work.
pub fn status_message(cost_usd: f64, tool: Option<&str>) -> String {
    let mut text = format!("${cost_usd:.2}");
    if let Some(tool) = tool {
        text.push_str(" · ");
        text.push_str(&super::safe::safe_line(tool));
    }
    text
}

impl LiveView {
    /// The view for this process's terminal (or pipes); with `json`, stored entries as
    /// JSON lines and nothing else.
    pub fn for_this_process(json: bool) -> Self {
        let streams = !json && std::io::stdout().is_terminal();
        let bar = (streams && std::io::stderr().is_terminal()).then(|| {
            let bar = status_bar(ProgressDrawTarget::stderr(), Duration::ZERO);
            bar.set_message(status_message(0.0, None));
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Self {
            bar,
            streams,
            shown: String::new(),
            pending: String::new(),
            tool: None,
            cost_usd: 0.0,
            json,
            held: None,
            last_text: String::new(),
            told_lost_lines: false,
        }
    }

    /// The cost so far changed (the session's totals).
    pub fn cost(&mut self, cost_usd: f64) {
        self.cost_usd = cost_usd;
        self.refresh();
    }

    /// Text of the reply as it streams.
    pub fn text_delta(&mut self, text: &str) {
        if !self.streams {
            return;
        }
        let Some(bar) = &self.bar else {
            self.shown.push_str(text);
            print_stdout(&safe_text(text));
            return;
        };
        self.pending.push_str(text);
        if let Some(end) = self.pending.rfind('\n') {
            let lines: String = self.pending.drain(..=end).collect();
            bar.suspend(|| print_stdout(&safe_text(&lines)));
            self.shown.push_str(&lines);
        }
        self.show_pending();
    }

    /// Prints stored entries (all but what already streamed); returns the last seq.
    pub fn entries(&mut self, entries: &[TranscriptEntry]) -> Option<u64> {
        if self.json {
            let mut out = std::io::stdout().lock();
            for entry in entries {
                if let Ok(line) = serde_json::to_string(&EntryJson::of(entry)) {
                    let _ = writeln!(out, "{line}");
                }
            }
            let _ = out.flush();
            return entries.last().map(|entry| entry.seq);
        }
        let mut text = String::new();
        for entry in entries {
            self.track(&entry.event);
            if let Some(line) = self.line_for(&entry.event) {
                text.push_str(&line);
            }
        }
        if !text.is_empty() {
            match &self.bar {
                Some(bar) => bar.suspend(|| print_stdout(&text)),
                None => print_stdout(&text),
            }
        }
        self.show_pending();
        self.refresh();
        entries.last().map(|entry| entry.seq)
    }

    /// Warns that `lines` transcript lines could not be stored, and why.
    pub fn lines_lost(&mut self, lines: u64, reason: &str) {
        let (what, are) = match lines {
            1 => ("a transcript line".to_owned(), "is"),
            _ => (format!("{lines} transcript lines"), "are"),
        };
        self.say(&format!(
            "{} {what} could not be stored and {are} lost: {}",
            paint(WARN, "lulu: warning:"),
            safe_line(reason),
        ));
        self.told_lost_lines = true;
    }

    /// Whether it warned that transcript lines were lost.
    pub fn told_lost_lines(&self) -> bool {
        self.told_lost_lines
    }

    /// Prints a note of Lulu's own on stderr, above the status line.
    pub fn note(&self, text: &str) {
        self.say(&paint(DIM, text));
    }

    /// Prints a line of Lulu's own, already styled, on stderr above the status line.
    pub fn say(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| anstream::eprintln!("{line}")),
            None => anstream::eprintln!("{line}"),
        }
    }

    /// Takes the status line down while the user is asked something on the terminal
    /// (`asking`), and puts it back, its clock still running, once they answered.
    pub fn hold(&mut self, asking: bool) {
        if asking {
            if let Some(bar) = self.bar.take() {
                bar.finish_and_clear();
                self.held = Some(bar.elapsed());
            }
        } else if let Some(elapsed) = self.held.take() {
            let bar = status_bar(ProgressDrawTarget::stderr(), elapsed);
            bar.enable_steady_tick(Duration::from_millis(100));
            self.bar = Some(bar);
            self.show_pending();
            self.refresh();
        }
    }

    /// The run's last line: its status, turns, cost and time; with `--json`, the settled
    /// session as one JSON line (`"kind": "session"`).
    pub fn settled(&self, session: &Session, elapsed_ms: u64) {
        if self.json {
            let mut value = serde_json::to_value(SessionJson::of(session)).unwrap_or_default();
            value["kind"] = "session".into();
            println!("{value}");
        } else {
            anstream::println!("{}", final_line(&self.unsaid(session), elapsed_ms));
        }
    }

    /// `session` without its error when the transcript just said it (an API error is
    /// the agent's last text): said once.
    fn unsaid(&self, session: &Session) -> Session {
        let mut session = session.clone();
        let said = session.last_error.as_deref().is_some_and(|error| {
            !self.last_text.is_empty() && self.last_text.trim() == error.trim()
        });
        if said {
            session.last_error = None;
        }
        session
    }

    /// Clears the status line (before the run's last lines).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// What `event` adds to the output, with its line break: a text block only past
    /// what streamed; a turn's result only its refused calls (the run's last line follows).
    fn line_for(&mut self, event: &AgentEvent) -> Option<String> {
        match event {
            AgentEvent::AssistantText { text }
                if !self.shown.is_empty() || !self.pending.is_empty() =>
            {
                let shown = std::mem::take(&mut self.shown);
                self.pending.clear();
                Some(rest_of_block(&shown, text))
            }
            AgentEvent::AssistantText { text } if claude_problem(text).is_some() => {
                claude_problem(text).map(|said| format!("{}\n", paint(ERROR, said)))
            }
            AgentEvent::Result {
                permission_denials, ..
            } => refused_lines(permission_denials).map(|lines| lines + "\n"),
            _ => event_line(event).map(|line| line + "\n"),
        }
    }

    fn track(&mut self, event: &AgentEvent) {
        match event {
            AgentEvent::AssistantText { text } => self.last_text.clone_from(text),
            AgentEvent::ToolUse { name, .. } => self.tool = Some(name.clone()),
            AgentEvent::ToolResult { .. } | AgentEvent::Result { .. } => self.tool = None,
            _ => {}
        }
    }

    fn refresh(&self) {
        if let Some(bar) = &self.bar {
            bar.set_message(status_message(self.cost_usd, self.tool.as_deref()));
        }
    }

    /// Shows the unfinished streamed line above the status line (its tail, to fit).
    fn show_pending(&self) {
        let Some(bar) = &self.bar else {
            return;
        };
        if self.pending.is_empty() {
            bar.set_style(style(ONE_LINE));
            return;
        }
        let width = terminal_size::terminal_size().map_or(80, |(width, _)| usize::from(width.0));
        bar.set_prefix(tail(
            &super::safe::safe_line(&self.pending),
            width.saturating_sub(1),
        ));
        bar.set_style(style(TWO_LINES));
    }
}

/// What is left to print of the complete text block `text` when `shown` of it was
/// printed as it streamed: the rest, ending the line. Should the block not start with
/// what streamed, it is printed whole on a line of its own.
fn rest_of_block(shown: &str, text: &str) -> String {
    let open_line = !shown.is_empty() && !shown.ends_with('\n');
    match text.strip_prefix(shown) {
        Some(rest) if rest.trim_end().is_empty() => {
            if open_line {
                "\n".to_owned()
            } else {
                String::new()
            }
        }
        Some(rest) => format!("{}\n", safe_text(rest.trim_end())),
        None => {
            let start = if open_line { "\n" } else { "" };
            format!("{start}{}\n", safe_text(text.trim_end()))
        }
    }
}

/// The end of `text` that fits in `width` columns.
fn tail(text: &str, width: usize) -> String {
    let mut used = 0;
    let mut start = text.len();
    for (index, c) in text.char_indices().rev() {
        used += c.width().unwrap_or(0);
        if used > width {
            break;
        }
        start = index;
    }
    text[start..].to_owned()
}

fn print_stdout(text: &str) {
    let mut out = anstream::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use indicatif::{InMemoryTerm, TermLike as _};

    use super::*;

    /// The status line as an 80x4 terminal shows it, after one tick of the spinner.
    fn drawn(elapsed: Duration, message: String, pending: Option<&str>) -> String {
        let term = InMemoryTerm::new(4, 80);
        let bar = status_bar(
            ProgressDrawTarget::term_like(Box::new(term.clone())),
            elapsed,
        );
        if let Some(pending) = pending {
            bar.set_prefix(pending.to_owned());
            bar.set_style(style(TWO_LINES));
        }
        bar.set_message(message);
        bar.tick();
        let _ = term.flush();
        term.contents()
    }

    #[test]
    fn the_status_line_in_a_virtual_terminal() {
        let screens = [
            drawn(
                Duration::from_secs(12),
                status_message(0.0412, Some("Bash")),
                None,
            ),
            drawn(Duration::from_secs(75), status_message(1.5, None), None),
            drawn(
                Duration::from_secs(3),
                status_message(0.0, Some("Read")),
                Some("Looking at the parser"),
            ),
        ];
        insta::assert_snapshot!(screens.join("\n-----\n"));
    }

    #[test]
    fn a_complete_block_prints_only_what_did_not_stream() {
        // Streamed whole (no status line: the line is still open).
        assert_eq!(rest_of_block("hello there", "hello there"), "\n");
        // Whole lines streamed under a status line; the rest comes with the block.
        assert_eq!(rest_of_block("one\n", "one\ntwo"), "two\n");
        assert_eq!(rest_of_block("one\n", "one\n"), "");
        // Not what streamed (never expected): the block on a line of its own.
        assert_eq!(rest_of_block("abc", "xyz"), "\nxyz\n");
        // Agent text is neutralised.
        assert_eq!(rest_of_block("", "a\u{1b}[2Jb"), "a^[[2Jb\n");
    }

    #[test]
    fn the_unfinished_line_keeps_its_end_in_wide_characters() {
        assert_eq!(tail("abcdef", 3), "def");
        assert_eq!(tail("日本語です", 5), "です");
        assert_eq!(tail("short", 80), "short");
    }
}
