//! A record of every stdout line written, for tests that account for each one.
//!
//! With `FAKE_CLAUDE_EMITTED=<file>`, each line that reached stdout (written and flushed
//! without error) appends one JSON summary to that file: who wrote it, when, its size,
//! and the shape the line parser cares about (type, subtype, content blocks). Without
//! the variable nothing is recorded. The CLI's own output is never changed by it.

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// Characters of a text block kept in its summary.
const SNIPPET_CHARS: usize = 40;

fn record_file() -> Option<&'static PathBuf> {
    static FILE: OnceLock<Option<PathBuf>> = OnceLock::new();
    FILE.get_or_init(|| std::env::var_os("FAKE_CLAUDE_EMITTED").map(PathBuf::from))
        .as_ref()
}

/// Appends the summary of `line`, just written to stdout, to the record (if asked for).
/// The caller still holds stdout's lock, so records are in stdout order.
pub fn record(line: &str) {
    let Some(path) = record_file() else {
        return;
    };
    let mut summary = summarise(line);
    summary["pid"] = json!(std::process::id());
    summary["at_ns"] = json!(SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| u64::try_from(since.as_nanos())
            .unwrap_or(u64::MAX)));
    let mut text = summary.to_string();
    text.push('\n');
    // One write of a short line to an append-only file: records never interleave.
    let appended = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()));
    if let Err(error) = appended {
        eprintln!(
            "fake-claude: cannot record an emitted line in {}: {error}",
            path.display()
        );
    }
}

/// The shape of one line: `json: false` for a line that is not JSON.
fn summarise(line: &str) -> Value {
    let Ok(value) = serde_json::from_str::<Value>(line) else {
        return json!({"bytes": line.len(), "json": false});
    };
    let content = &value["message"]["content"];
    let blocks: Vec<Value> = content
        .as_array()
        .map(|blocks| {
            blocks
                .iter()
                .map(|block| {
                    json!({
                        "type": block["type"],
                        "text": block["text"].as_str().map(|text| text.chars().take(SNIPPET_CHARS).collect::<String>()),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "bytes": line.len(),
        "json": true,
        "object": value.is_object(),
        "type": value["type"],
        "subtype": value["subtype"],
        "status": value["status"],
        "session_id": value["session_id"],
        "content_is_text": content.is_string(),
        "blocks": blocks,
    })
}
