//! The transcript store: `<config dir>/projects/<key>/<session id>.jsonl`, keyed by cwd.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Longest project key kept whole.
const MAX_KEY_LEN: usize = 200;

/// The config dir: `$CLAUDE_CONFIG_DIR`, else `$HOME/.claude`.
pub fn config_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CLAUDE_CONFIG_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/".into());
    PathBuf::from(home).join(".claude")
}

/// The project key of a directory: its real path with every `[^a-zA-Z0-9]` turned into
/// `-`; past 200 characters, cut to 200 plus `-<base36 of abs(Java-style string hash)>`.
pub fn project_key(real_path: &str) -> String {
    let key: String = real_path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if key.chars().count() <= MAX_KEY_LEN {
        return key;
    }
    let hash = real_path.encode_utf16().fold(0_i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(i32::from(unit))
    });
    let cut: String = key.chars().take(MAX_KEY_LEN).collect();
    format!("{cut}-{}", base36(i64::from(hash).unsigned_abs()))
}

fn base36(mut value: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[usize::try_from(value % 36).unwrap_or(0)]);
        value /= 36;
        if value == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// The transcripts of one project (one cwd).
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    persist: bool,
}

impl Store {
    /// The store for `cwd` under `config`; with `persist` false nothing is written.
    pub fn new(config: &Path, cwd: &Path, persist: bool) -> Self {
        let real = fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
        let key = project_key(&real.to_string_lossy());
        Self {
            dir: config.join("projects").join(key),
            persist,
        }
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.jsonl"))
    }

    /// True if a transcript exists for `id` in this project.
    pub fn exists(&self, id: &str) -> bool {
        self.path(id).is_file()
    }

    /// Every entry of `id`'s transcript.
    pub fn load(&self, id: &str) -> Vec<Value> {
        fs::read_to_string(self.path(id))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// Appends one entry to `id`'s transcript.
    pub fn append(&self, id: &str, entry: &Value) {
        if !self.persist || fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let opened = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(id));
        if let Ok(mut file) = opened {
            let _ = writeln!(file, "{entry}");
        }
    }

    /// Copies `from`'s transcript to a new id (`--fork-session`).
    pub fn fork(&self, from: &str, to: &str) {
        for entry in self.load(from) {
            self.append(to, &entry);
        }
    }
}

/// How many earlier turns a transcript holds: user entries whose content is a prompt.
pub fn earlier_turns(entries: &[Value]) -> usize {
    entries
        .iter()
        .filter(|entry| entry["type"] == "user" && entry["message"]["content"].is_string())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_cli_rule() {
        assert_eq!(project_key("/srv/app"), "-srv-app");
        assert_eq!(project_key("/tmp/a b.c_d"), "-tmp-a-b-c-d");
        let long = format!("/{}", "x".repeat(250));
        let key = project_key(&long);
        assert!(key.starts_with(&format!("-{}", "x".repeat(199))));
        assert!(key.len() > 201);
    }
}
