//! stdout lines to [`AgentEvent`]s: JSON is parsed, never matched by prefix.
//!
//! Every documented message type has its event; unknown types, subtypes and content
//! blocks become [`AgentEvent::Other`] with their raw JSON; unknown fields are ignored.
//! Nothing here fails: a line that is not JSON becomes an [`AgentEvent::Diagnostic`].

use std::borrow::Cow;

use lulu_domain::{AgentEvent, PermissionDenial, RunUsage};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::lines::Line;

/// How much of a malformed line a diagnostic quotes.
const QUOTED_CHARS: usize = 120;

/// What one stdout line stands for.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Transcript events (usually one; one per content block; none for a blank line or
    /// a partial-message line that carries no reply text).
    Events(Vec<AgentEvent>),
    /// Reply text as it streams (a top-level `stream_event` `text_delta`, only with
    /// `--include-partial-messages`): for live views, never stored, since the complete
    /// block follows as an `assistant` line.
    TextDelta(String),
}

/// The events one stdout line stands for (usually one; one per content block).
/// Partial-message lines stand for none.
pub fn parse_line(line: &Line, max_len: usize) -> Vec<AgentEvent> {
    match parse_output(line, max_len) {
        Output::Events(events) => events,
        Output::TextDelta(_) => Vec::new(),
    }
}

/// What one stdout line stands for: transcript events, or streaming reply text.
pub fn parse_output(line: &Line, max_len: usize) -> Output {
    let events = match line {
        Line::Text(text) => return parse_text(text),
        Line::Oversized { bytes, result } => {
            let mut events = vec![diagnostic(format!(
                "skipped a stdout line of {bytes} bytes: longer than the {max_len}-byte cap"
            ))];
            // A result too long to keep still ends the turn (it repeats the whole reply).
            if let Some(is_error) = *result {
                events.push(AgentEvent::Result {
                    subtype: "oversized".to_owned(),
                    is_error,
                    text: None,
                    errors: Vec::new(),
                    terminal_reason: None,
                    usage: lulu_domain::RunUsage::default(),
                    permission_denials: Vec::new(),
                });
            }
            events
        }
        Line::NotUtf8 { bytes } => vec![diagnostic(format!(
            "skipped a stdout line of {bytes} bytes: not valid UTF-8"
        ))],
    };
    Output::Events(events)
}

fn parse_text(text: &str) -> Output {
    if text.trim().is_empty() {
        return Output::Events(Vec::new());
    }
    // Most lines of a streaming reply are partial messages: read only the fields they
    // use and skip the rest unbuilt, which costs a fraction of a `Value` of the line.
    if let Ok(line) = serde_json::from_str::<PartialLine<'_>>(text) {
        if line.kind == "stream_event" {
            return line.output();
        }
    }
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(error) => {
            let quoted: String = text.chars().take(QUOTED_CHARS).collect();
            return Output::Events(vec![diagnostic(format!(
                "skipped a stdout line of {} bytes that is not JSON ({error}); it starts with: {quoted}",
                text.len()
            ))]);
        }
    };
    let Some(object) = value.as_object() else {
        return Output::Events(vec![other(String::new(), text)]);
    };
    let kind = str_field(object, "type");
    Output::Events(match kind.as_str() {
        // Partial-message chatter: an API request begins (the reply streams next).
        "system" if requesting(object) => Vec::new(),
        "system" => vec![system_event(object, text)],
        "assistant" => content_events(object, text, "assistant", assistant_block),
        "user" => content_events(object, text, "user", user_block),
        "result" => vec![result_event(object)],
        "control_request" => vec![control_request_event(object, text)],
        "control_cancel_request" => vec![AgentEvent::PermissionCancelled {
            request_id: str_field(object, "request_id"),
        }],
        // A partial-message line not of the shape [`PartialLine`] reads carries no text.
        "stream_event" => Vec::new(),
        _ => vec![other(kind, text)],
    })
}

/// `system/status` `requesting`: printed with `--include-partial-messages` before each
/// API request; it says nothing the transcript needs.
fn requesting(object: &Map<String, Value>) -> bool {
    str_field(object, "subtype") == "status" && str_field(object, "status") == "requesting"
}

/// A partial-message line (`stream_event`), as far as it is read: the reply's text as
/// it streams, or nothing. Its other events (message and block starts and stops,
/// thinking and tool-input deltas) repeat what the complete `assistant` and `result`
/// lines say, so they are not kept; a subagent's text (`parent_tool_use_id` set) is not
/// the reply.
#[derive(Deserialize)]
struct PartialLine<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    event: Option<PartialEvent<'a>>,
    parent_tool_use_id: Option<IgnoredAny>,
}

/// The API event a partial-message line carries.
#[derive(Deserialize)]
struct PartialEvent<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    delta: Option<PartialDelta<'a>>,
}

/// A `content_block_delta`'s delta (or a `message_delta`'s, which has no text).
#[derive(Deserialize)]
struct PartialDelta<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
}

impl PartialLine<'_> {
    fn output(self) -> Output {
        let top_level = self.parent_tool_use_id.is_none();
        let text = self
            .event
            .filter(|event| event.kind.as_deref() == Some("content_block_delta"))
            .and_then(|event| event.delta)
            .filter(|delta| delta.kind.as_deref() == Some("text_delta"))
            .and_then(|delta| delta.text)
            .filter(|text| top_level && !text.is_empty());
        match text {
            Some(text) => Output::TextDelta(text.into_owned()),
            None => Output::Events(Vec::new()),
        }
    }
}

fn system_event(object: &Map<String, Value>, raw: &str) -> AgentEvent {
    let subtype = str_field(object, "subtype");
    match subtype.as_str() {
        "init" => AgentEvent::Init {
            model: str_field(object, "model"),
            cwd: str_field(object, "cwd"),
            version: str_field(object, "claude_code_version"),
            tools: object
                .get("tools")
                .and_then(Value::as_array)
                .map(|tools| {
                    tools
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        },
        "api_retry" => AgentEvent::ApiRetry {
            attempt: u32_field(object, "attempt"),
            max_retries: u32_field(object, "max_retries"),
            retry_delay_ms: u64_field(object, "retry_delay_ms"),
            error_status: object
                .get("error_status")
                .and_then(Value::as_u64)
                .and_then(|status| u16::try_from(status).ok()),
            error: text_of(object.get("error")),
        },
        "permission_denied" => AgentEvent::PermissionDenied {
            tool_name: str_field(object, "tool_name"),
            tool_use_id: str_field(object, "tool_use_id"),
            message: str_field(object, "message"),
        },
        _ => other(format!("system/{subtype}"), raw),
    }
}

/// A control request from the agent: `can_use_tool` asks permission; others are kept as
/// they came.
fn control_request_event(object: &Map<String, Value>, raw: &str) -> AgentEvent {
    let request = object.get("request").and_then(Value::as_object);
    let Some(request) = request.filter(|request| str_field(request, "subtype") == "can_use_tool")
    else {
        return other("control_request".to_owned(), raw);
    };
    let optional_text = |key: &str| request.get(key).and_then(Value::as_str).map(str::to_owned);
    AgentEvent::PermissionRequest {
        request_id: str_field(object, "request_id"),
        tool_name: str_field(request, "tool_name"),
        input_json: request
            .get("input")
            .map_or_else(|| "{}".to_owned(), Value::to_string),
        description: optional_text("description"),
        blocked_path: optional_text("blocked_path"),
        suggestions_json: request
            .get("permission_suggestions")
            .filter(|suggestions| !suggestions.is_null())
            .map(Value::to_string),
    }
}

/// One event per content block of an `assistant` or `user` line.
fn content_events(
    object: &Map<String, Value>,
    raw: &str,
    kind: &str,
    block_event: fn(&Map<String, Value>) -> Option<AgentEvent>,
) -> Vec<AgentEvent> {
    let content = object
        .get("message")
        .and_then(|message| message.get("content"));
    match content {
        Some(Value::String(text)) if kind == "user" => {
            vec![AgentEvent::UserText { text: text.clone() }]
        }
        Some(Value::Array(blocks)) if !blocks.is_empty() => blocks
            .iter()
            .map(|block| {
                block.as_object().and_then(block_event).unwrap_or_else(|| {
                    let block_type = block.get("type").and_then(Value::as_str).unwrap_or("");
                    other(format!("{kind}/{block_type}"), &block.to_string())
                })
            })
            .collect(),
        _ => vec![other(kind.to_owned(), raw)],
    }
}

fn assistant_block(block: &Map<String, Value>) -> Option<AgentEvent> {
    match block.get("type")?.as_str()? {
        "text" => Some(AgentEvent::AssistantText {
            text: str_field(block, "text"),
        }),
        "thinking" => Some(AgentEvent::Thinking {
            text: str_field(block, "thinking"),
        }),
        "tool_use" => Some(AgentEvent::ToolUse {
            id: str_field(block, "id"),
            name: str_field(block, "name"),
            input_json: block.get("input").map(Value::to_string).unwrap_or_default(),
        }),
        _ => None,
    }
}

fn user_block(block: &Map<String, Value>) -> Option<AgentEvent> {
    match block.get("type")?.as_str()? {
        "text" => Some(AgentEvent::UserText {
            text: str_field(block, "text"),
        }),
        "tool_result" => Some(AgentEvent::ToolResult {
            tool_use_id: str_field(block, "tool_use_id"),
            content: text_of(block.get("content")),
            is_error: block
                .get("is_error")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }),
        _ => None,
    }
}

fn result_event(object: &Map<String, Value>) -> AgentEvent {
    let usage = object.get("usage");
    let tokens = |name: &str| {
        usage
            .and_then(|usage| usage.get(name))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let permission_denials: Vec<PermissionDenial> = object
        .get("permission_denials")
        .and_then(Value::as_array)
        .map(|denials| {
            denials
                .iter()
                .filter_map(Value::as_object)
                .map(|denial| PermissionDenial {
                    tool_name: str_field(denial, "tool_name"),
                    tool_use_id: str_field(denial, "tool_use_id"),
                    input_json: denial
                        .get("tool_input")
                        .map(Value::to_string)
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    AgentEvent::Result {
        subtype: str_field(object, "subtype"),
        is_error: object
            .get("is_error")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        text: object
            .get("result")
            .and_then(Value::as_str)
            .map(str::to_owned),
        errors: object
            .get("errors")
            .and_then(Value::as_array)
            .map(|errors| errors.iter().map(|error| text_of(Some(error))).collect())
            .unwrap_or_default(),
        terminal_reason: object
            .get("terminal_reason")
            .and_then(Value::as_str)
            .map(str::to_owned),
        usage: RunUsage {
            cost_usd: object
                .get("total_cost_usd")
                .and_then(Value::as_f64)
                .unwrap_or(0.0),
            input_tokens: tokens("input_tokens")
                + tokens("cache_creation_input_tokens")
                + tokens("cache_read_input_tokens"),
            output_tokens: tokens("output_tokens"),
            num_turns: u64_field(object, "num_turns"),
            duration_ms: u64_field(object, "duration_ms"),
            permission_denials: permission_denials.len() as u64,
        },
        permission_denials,
    }
}

/// A string field, or empty.
fn str_field(object: &Map<String, Value>, name: &str) -> String {
    object
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn u64_field(object: &Map<String, Value>, name: &str) -> u64 {
    object.get(name).and_then(Value::as_u64).unwrap_or(0)
}

fn u32_field(object: &Map<String, Value>, name: &str) -> u32 {
    u32::try_from(u64_field(object, name)).unwrap_or(u32::MAX)
}

/// Text of a value that is a string, a list of `{type:text}` blocks, or anything else.
fn text_of(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .map(|block| match block.get("text").and_then(Value::as_str) {
                Some(text) => text.to_owned(),
                None => block.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Some(other) => other.to_string(),
    }
}

fn other(type_name: String, raw: &str) -> AgentEvent {
    AgentEvent::Other {
        type_name,
        raw_json: raw.to_owned(),
    }
}

fn diagnostic(message: String) -> AgentEvent {
    AgentEvent::Diagnostic { message }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
