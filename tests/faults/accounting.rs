//! Transcript accounting: every line fake-claude emitted (its `FAKE_CLAUDE_EMITTED`
//! record) must be stored as the events the line parser makes of it, or be counted on
//! its session as lost (`lost_events` in `lulu show --json`; 0 while absent).

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use lulu_adapters_cli::CliLauncherConfig;

/// One event a line should have become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The event's kind, as `logs --json` prints it.
    pub kind: &'static str,
    /// The start of its text, for text events.
    pub text: Option<String>,
}

/// One emitted line.
#[derive(Debug, Clone)]
pub struct Emitted {
    /// When it was written (ns since the epoch).
    pub at_ns: u64,
    /// Its size in bytes.
    pub bytes: u64,
    /// The events it should have become.
    pub expected: Vec<Expected>,
}

/// One stored event.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Its kind.
    pub kind: String,
    /// Its text, for text events.
    pub text: Option<String>,
}

/// The emitted lines of every session, in the order they were written.
pub fn emitted_by_session(record: &Path) -> HashMap<String, Vec<Emitted>> {
    let Ok(text) = std::fs::read_to_string(record) else {
        return HashMap::new();
    };
    let records: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("fake-claude's records are JSON"))
        .collect();
    let mut session_of_pid: HashMap<u64, String> = HashMap::new();
    for record in &records {
        if let (Some(pid), Some(session)) = (record["pid"].as_u64(), record["session_id"].as_str())
        {
            session_of_pid
                .entry(pid)
                .or_insert_with(|| session.to_owned());
        }
    }
    let mut sessions: HashMap<String, Vec<Emitted>> = HashMap::new();
    for record in &records {
        let pid = record["pid"].as_u64().expect("a record names its pid");
        let session = session_of_pid
            .get(&pid)
            .cloned()
            .unwrap_or_else(|| format!("(agent {pid} never named its session)"));
        sessions.entry(session).or_default().push(Emitted {
            at_ns: record["at_ns"].as_u64().unwrap_or(0),
            bytes: record["bytes"].as_u64().unwrap_or(0),
            expected: expected_events(record),
        });
    }
    sessions
}

/// What the line parser makes of a line with this summary (see `lulu_adapters_cli::parse_line`).
fn expected_events(record: &Value) -> Vec<Expected> {
    let event = |kind: &'static str| Expected { kind, text: None };
    let cap = CliLauncherConfig::DEFAULT_MAX_LINE_BYTES as u64;
    if record["bytes"].as_u64().unwrap_or(0) > cap {
        let mut events = vec![event("diagnostic")];
        if record["type"] == "result" {
            events.push(event("result"));
        }
        return events;
    }
    if record["json"] != true {
        return vec![event("diagnostic")];
    }
    if record["object"] != true {
        return vec![event("other")];
    }
    let kind = record["type"].as_str().unwrap_or_default();
    match kind {
        // Partial-message lines are shown live, never stored.
        "stream_event" => Vec::new(),
        "system" if record["subtype"] == "status" && record["status"] == "requesting" => Vec::new(),
        "system" => vec![event(match record["subtype"].as_str() {
            Some("init") => "init",
            Some("api_retry") => "api_retry",
            Some("permission_denied") => "permission_denied",
            _ => "other",
        })],
        "assistant" | "user" => {
            if kind == "user" && record["content_is_text"] == true {
                return vec![event("user_text")];
            }
            let blocks = record["blocks"].as_array().cloned().unwrap_or_default();
            if blocks.is_empty() {
                return vec![event("other")];
            }
            blocks
                .iter()
                .map(|block| {
                    let text = block["text"].as_str().map(str::to_owned);
                    match (kind, block["type"].as_str()) {
                        ("assistant", Some("text")) => Expected {
                            kind: "assistant_text",
                            text,
                        },
                        ("user", Some("text")) => Expected {
                            kind: "user_text",
                            text,
                        },
                        ("assistant", Some("thinking")) => event("thinking"),
                        ("assistant", Some("tool_use")) => event("tool_use"),
                        ("user", Some("tool_result")) => event("tool_result"),
                        _ => event("other"),
                    }
                })
                .collect()
        }
        "result" => vec![event("result")],
        _ => vec![event("other")],
    }
}

/// The stored events of a session (every run, in order), from `logs --json` output.
pub fn stored_events(logs_json: &str) -> Vec<Stored> {
    logs_json
        .lines()
        .map(|line| {
            let entry: Value = serde_json::from_str(line).expect("logs --json prints JSON lines");
            Stored {
                kind: entry["kind"].as_str().unwrap_or_default().to_owned(),
                text: entry["text"].as_str().map(str::to_owned),
            }
        })
        .collect()
}

/// How the emitted lines of a session line up with what was stored.
#[derive(Debug)]
pub struct Tally {
    /// Per emitted line: whether all its events were stored.
    pub stored: Vec<bool>,
    /// Stored events no emitted line accounts for (diagnostics aside).
    pub unexplained: Vec<String>,
}

impl Tally {
    /// How many emitted lines were not (wholly) stored.
    pub fn missing(&self) -> usize {
        self.stored.iter().filter(|stored| !**stored).count()
    }
}

/// Lines up emitted lines with stored events, in order. Lulu may add diagnostics of its
/// own anywhere; any other stored event must come from an emitted line, once.
pub fn tally(emitted: &[Emitted], stored: &[Stored]) -> Tally {
    let matches = |expected: &Expected, stored: &Stored| {
        expected.kind == stored.kind
            && expected.text.as_ref().is_none_or(|start| {
                stored
                    .text
                    .as_ref()
                    .is_some_and(|text| text.starts_with(start.as_str()))
            })
    };
    let mut next = 0;
    let mut unexplained = Vec::new();
    let mut lines = Vec::new();
    for line in emitted {
        let mut cursor = next;
        let mut whole = true;
        for expected in &line.expected {
            while cursor < stored.len()
                && !matches(expected, &stored[cursor])
                && stored[cursor].kind == "diagnostic"
            {
                cursor += 1;
            }
            if cursor < stored.len() && matches(expected, &stored[cursor]) {
                cursor += 1;
            } else {
                whole = false;
                break;
            }
        }
        if whole {
            next = cursor;
        }
        lines.push(whole);
    }
    for event in &stored[next..] {
        if event.kind != "diagnostic" {
            unexplained.push(format!("{} {:?}", event.kind, event.text));
        }
    }
    Tally {
        stored: lines,
        unexplained,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(kind: &'static str, text: Option<&str>) -> Emitted {
        Emitted {
            at_ns: 0,
            bytes: 10,
            expected: vec![Expected {
                kind,
                text: text.map(str::to_owned),
            }],
        }
    }

    fn event(kind: &str, text: Option<&str>) -> Stored {
        Stored {
            kind: kind.to_owned(),
            text: text.map(str::to_owned),
        }
    }

    #[test]
    fn a_gap_a_repeat_and_extra_diagnostics_are_told_apart() {
        let emitted = [
            line("init", None),
            line("assistant_text", Some("tick 1")),
            line("assistant_text", Some("tick 2")),
            line("result", None),
        ];
        let all = [
            event("init", None),
            event("diagnostic", None),
            event("assistant_text", Some("tick 1. ")),
            event("assistant_text", Some("tick 2. ")),
            event("result", None),
        ];
        let tally_all = tally(&emitted, &all);
        assert_eq!(tally_all.missing(), 0);
        assert!(tally_all.unexplained.is_empty());

        let gap = [all[0].clone(), all[3].clone(), all[4].clone()];
        assert_eq!(tally(&emitted, &gap).stored, [true, false, true, true]);

        let repeat = [
            all[0].clone(),
            all[2].clone(),
            all[2].clone(),
            all[3].clone(),
            all[4].clone(),
        ];
        assert!(!tally(&emitted, &repeat).unexplained.is_empty());
    }
}
