//! Keeping secrets from the environment out of everything Lulu keeps or prints of the
//! agent's output: every stdout line (so transcript events, tool results and raw JSON),
//! its stderr, and the failure messages built from them.

use std::ffi::OsString;

use crate::lines::Line;

/// Name fragments that mark an environment variable as secret.
const SECRET_NAME_PARTS: [&str; 7] = [
    "KEY",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "CREDENTIAL",
    "AUTH",
];
/// Values shorter than this are too common to redact meaningfully.
const MIN_SECRET_LEN: usize = 8;
/// What a secret is replaced with.
const REDACTED: &str = "[redacted]";

/// Replaces the values of secret-looking environment variables with `[redacted]`.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// Collects the secret values among `env` (name, value) pairs.
    pub fn from_env<I>(env: I) -> Self
    where
        I: IntoIterator<Item = (OsString, OsString)>,
    {
        let mut secrets: Vec<String> = env
            .into_iter()
            .filter(|(name, _)| {
                let name = name.to_string_lossy().to_ascii_uppercase();
                SECRET_NAME_PARTS.iter().any(|part| name.contains(part))
            })
            .filter_map(|(_, value)| value.into_string().ok())
            .filter(|value| value.chars().count() >= MIN_SECRET_LEN)
            .collect();
        // Longest first, so a secret that contains another is replaced whole.
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets.dedup();
        Self { secrets }
    }

    /// `text` with every known secret replaced.
    pub fn redact(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_owned(), |text, secret| {
            if text.contains(secret.as_str()) {
                text.replace(secret.as_str(), REDACTED)
            } else {
                text
            }
        })
    }

    /// A stdout line with every secret replaced, as written and as JSON escapes it (a
    /// secret holding `"` or `\\` appears escaped inside a JSON string).
    pub(crate) fn redact_line(&self, line: Line) -> Line {
        let Line::Text(mut text) = line else {
            return line;
        };
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), REDACTED);
            }
            let quoted = serde_json::to_string(secret).unwrap_or_default();
            let escaped = quoted
                .strip_prefix('"')
                .and_then(|rest| rest.strip_suffix('"'))
                .unwrap_or(secret);
            if escaped != secret && text.contains(escaped) {
                text = text.replace(escaped, REDACTED);
            }
        }
        Line::Text(text)
    }
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_variables_are_redacted_and_others_are_not() {
        let redactor = Redactor::from_env([
            ("ANTHROPIC_API_KEY".into(), "sk-ant-test-SECRET".into()),
            ("HOME".into(), "/home/someone".into()),
            ("GH_TOKEN".into(), "abc".into()),
        ]);
        assert_eq!(
            redactor.redact("key sk-ant-test-SECRET in /home/someone, abc"),
            "key [redacted] in /home/someone, abc"
        );
        assert_eq!(format!("{redactor:?}"), "Redactor(1 secrets)");
    }

    #[test]
    fn a_stdout_line_loses_the_secret_written_plainly_or_json_escaped() {
        let redactor = Redactor::from_env([
            ("MY_SECRET".into(), "pa\"ss\\word-1234".into()),
            ("GITHUB_TOKEN".into(), "ghp_0123456789".into()),
            ("SHORT_KEY".into(), "1234567".into()),
        ]);
        let line = Line::Text(
            r#"{"content":"pa\"ss\\word-1234 and ghp_0123456789 and 1234567"}"#.to_owned(),
        );
        let Line::Text(text) = redactor.redact_line(line) else {
            panic!("text stays text");
        };
        assert_eq!(
            text,
            r#"{"content":"[redacted] and [redacted] and 1234567"}"#
        );
    }
}
