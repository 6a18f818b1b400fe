//! Keeping secrets from the environment out of messages built from the agent's output.

use std::ffi::OsString;

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
const MIN_SECRET_LEN: usize = 6;

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
            .filter(|value| value.len() >= MIN_SECRET_LEN)
            .collect();
        // Longest first, so a secret that contains another is replaced whole.
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets.dedup();
        Self { secrets }
    }

    /// `text` with every known secret replaced.
    pub fn redact(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_owned(), |text, secret| {
            text.replace(secret, "[redacted]")
        })
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
}
