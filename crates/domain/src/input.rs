//! Parsed user input: a value of these types has already been checked, so nothing re-checks it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a piece of user input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The prompt was empty or only white space.
    #[error("the prompt is empty: say what the agent should do")]
    EmptyPrompt,
    /// The title was empty after trimming.
    #[error("the title is empty: give a title or leave it out to derive one from the prompt")]
    EmptyTitle,
    /// The title was too long.
    #[error("the title has {len} characters; at most {max} are allowed")]
    TitleTooLong {
        /// Characters given.
        len: usize,
        /// Characters allowed.
        max: usize,
    },
    /// The title held a character that controls a terminal.
    #[error("the title contains the control character {}: a title is plain text", escaped(*.0))]
    TitleHasControl(char),
    /// The working directory was not an absolute path.
    #[error("the working directory `{0}` is not an absolute path")]
    RelativeWorkingDir(String),
    /// `--max-turns` was zero.
    #[error("max turns must be at least 1")]
    ZeroMaxTurns,
}

/// Whether `c` can steer a terminal or reorder text on it: C0 controls, DEL, C1 controls
/// (U+0080–U+009F) and the bidirectional formatting characters (U+202A–U+202E,
/// U+2066–U+2069, U+200E, U+200F, U+061C). Line breaks and tabs count too; callers that
/// keep them say so.
pub fn is_terminal_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}'
        )
}

/// `c` as `U+001B`, for messages.
fn escaped(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// What the user asks the agent to do: never empty.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Prompt(String);

impl Prompt {
    /// Accepts any text that is not blank; the text is kept verbatim (no trimming).
    pub fn parse(text: impl Into<String>) -> Result<Self, InputError> {
        let text = text.into();
        if text.trim().is_empty() {
            return Err(InputError::EmptyPrompt);
        }
        Ok(Self(text))
    }

    /// The prompt text, verbatim.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Prompts can be long and private: Debug shows only their size.
impl fmt::Debug for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Prompt({} bytes)", self.0.len())
    }
}

impl TryFrom<String> for Prompt {
    type Error = InputError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(text)
    }
}

impl From<Prompt> for String {
    fn from(prompt: Prompt) -> Self {
        prompt.0
    }
}

/// A session's title as shown on the dashboard: trimmed, one line, 1..=120 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SessionTitle(String);

impl SessionTitle {
    /// The longest title accepted, in characters.
    pub const MAX_CHARS: usize = 120;

    /// Accepts a non-blank title of at most [`Self::MAX_CHARS`] characters without
    /// terminal controls ([`is_terminal_control`]); line breaks and tabs become spaces.
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let title = Self::from_stored(text)?;
        if let Some(control) = title.0.chars().find(|c| is_terminal_control(*c)) {
            return Err(InputError::TitleHasControl(control));
        }
        Ok(title)
    }

    /// A title read back from storage: [`Self::parse`]'s rules except the one on control
    /// characters, which older versions did not have (whoever prints a title neutralises
    /// its controls anyway).
    pub fn from_stored(text: &str) -> Result<Self, InputError> {
        // Stored titles are one line already (every row read back): taken as they are.
        let one_line = if single_spaced(text) {
            text.to_owned()
        } else {
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        };
        if one_line.is_empty() {
            return Err(InputError::EmptyTitle);
        }
        let len = one_line.chars().count();
        if len > Self::MAX_CHARS {
            return Err(InputError::TitleTooLong {
                len,
                max: Self::MAX_CHARS,
            });
        }
        Ok(Self(one_line))
    }

    /// A title derived from the prompt: its first words without terminal controls, cut to
    /// 60 characters with an ellipsis.
    pub fn from_prompt(prompt: &Prompt) -> Self {
        const CUT: usize = 60;
        let plain: String = prompt
            .as_str()
            .chars()
            .map(|c| if is_terminal_control(c) { ' ' } else { c })
            .collect();
        let one_line = plain.split_whitespace().collect::<Vec<_>>().join(" ");
        if one_line.chars().count() <= CUT {
            return Self(one_line);
        }
        let mut cut: String = one_line.chars().take(CUT - 1).collect();
        cut.push('…');
        Self(cut)
    }

    /// The title text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SessionTitle {
    type Error = InputError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<SessionTitle> for String {
    fn from(title: SessionTitle) -> Self {
        title.0
    }
}

/// The directory a session's agent runs in: an absolute path, stored as text.
///
/// The domain never touches the file system: whether the directory exists is the
/// launcher's business (it refuses a missing one before anything runs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkingDir(String);

impl WorkingDir {
    /// Accepts an absolute path (`/…`).
    pub fn parse(path: impl Into<String>) -> Result<Self, InputError> {
        let path = path.into();
        if !path.starts_with('/') {
            return Err(InputError::RelativeWorkingDir(path));
        }
        Ok(Self(path))
    }

    /// The path text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for WorkingDir {
    type Error = InputError;
    fn try_from(path: String) -> Result<Self, Self::Error> {
        Self::parse(path)
    }
}

impl From<WorkingDir> for String {
    fn from(dir: WorkingDir) -> Self {
        dir.0
    }
}

impl fmt::Display for WorkingDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The user's options passed through to the agent CLI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentOptions {
    /// `--model`.
    pub model: Option<String>,
    /// `--permission-mode`.
    pub permission_mode: Option<String>,
    /// `--allowedTools`, one entry per tool pattern.
    pub allowed_tools: Vec<String>,
    /// `--disallowedTools`, one entry per tool pattern.
    pub disallowed_tools: Vec<String>,
    /// `--max-turns` (at least 1).
    pub max_turns: Option<u32>,
    /// `--append-system-prompt`.
    pub append_system_prompt: Option<String>,
    /// `--add-dir`, one entry per directory.
    pub add_dirs: Vec<String>,
    /// Extra arguments appended verbatim (as argv entries, never through a shell).
    pub extra_args: Vec<String>,
    /// Not an agent flag: keep the run alive after each turn's result (the session is
    /// `idle` between turns) for follow-ups, until it is closed, interrupted or idle too long.
    #[serde(default)]
    pub keep_open: bool,
}

impl AgentOptions {
    /// Checks the options that have rules of their own.
    pub fn validate(self) -> Result<Self, InputError> {
        check_max_turns(self.max_turns)?;
        Ok(self)
    }
}

/// `--max-turns` must allow at least one turn.
fn check_max_turns(max_turns: Option<u32>) -> Result<(), InputError> {
    if max_turns == Some(0) {
        return Err(InputError::ZeroMaxTurns);
    }
    Ok(())
}

/// The run options a resume may change for its run: each one given replaces the session's
/// value for that run only (the session keeps its own options for later resumes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OptionOverrides {
    /// `--model`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// `--permission-mode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_mode: Option<String>,
    /// `--allowedTools`: the whole list for this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_tools: Option<Vec<String>>,
    /// `--disallowedTools`: the whole list for this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disallowed_tools: Option<Vec<String>>,
    /// `--max-turns` (at least 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u32>,
}

impl OptionOverrides {
    /// Checks the options that have rules of their own (the same rules as [`AgentOptions`]).
    pub fn validate(self) -> Result<Self, InputError> {
        check_max_turns(self.max_turns)?;
        Ok(self)
    }

    /// True when nothing is overridden.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// `options` with every given option replaced.
    #[must_use]
    pub fn applied_to(&self, options: &AgentOptions) -> AgentOptions {
        let mut merged = options.clone();
        let Self {
            model,
            permission_mode,
            allowed_tools,
            disallowed_tools,
            max_turns,
        } = self.clone();
        merged.model = model.or(merged.model);
        merged.permission_mode = permission_mode.or(merged.permission_mode);
        merged.allowed_tools = allowed_tools.unwrap_or(merged.allowed_tools);
        merged.disallowed_tools = disallowed_tools.unwrap_or(merged.disallowed_tools);
        merged.max_turns = max_turns.or(merged.max_turns);
        merged
    }
}

/// Whether `text` is what joining its words with single spaces gives: no whitespace but
/// single spaces between words.
fn single_spaced(text: &str) -> bool {
    let mut after_space = true;
    for c in text.chars() {
        if c == ' ' {
            if after_space {
                return false;
            }
            after_space = true;
        } else if c.is_whitespace() {
            return false;
        } else {
            after_space = false;
        }
    }
    !after_space || text.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_prompt_is_refused_but_odd_text_is_kept_verbatim() {
        assert_eq!(Prompt::parse(" \n\t"), Err(InputError::EmptyPrompt));
        let hostile = "-p $(touch /tmp/pwned) \"quoted\"\nnext line ";
        assert_eq!(Prompt::parse(hostile).unwrap().as_str(), hostile);
    }

    #[test]
    fn prompt_debug_does_not_print_the_prompt() {
        let prompt = Prompt::parse("secret plan").unwrap();
        assert_eq!(format!("{prompt:?}"), "Prompt(11 bytes)");
    }

    #[test]
    fn title_from_a_long_prompt_is_cut_with_an_ellipsis() {
        let prompt = Prompt::parse("word ".repeat(40)).unwrap();
        let title = SessionTitle::from_prompt(&prompt);
        assert_eq!(title.as_str().chars().count(), 60);
        assert!(title.as_str().ends_with('…'));
    }

    #[test]
    fn title_is_folded_to_one_line_and_bounded() {
        assert_eq!(
            SessionTitle::parse(" fix \n tests ").unwrap().as_str(),
            "fix tests"
        );
        assert_eq!(SessionTitle::parse("   "), Err(InputError::EmptyTitle));
        assert!(matches!(
            SessionTitle::parse(&"x".repeat(121)),
            Err(InputError::TitleTooLong { len: 121, max: 120 })
        ));
    }

    #[test]
    fn a_title_with_terminal_controls_is_refused_but_a_stored_one_still_reads() {
        for hostile in [
            "\u{1b}]0;pwned\u{7}",
            "a\u{7f}b",
            "a\u{9b}1m",
            "\u{202e}evil",
        ] {
            assert!(
                matches!(
                    SessionTitle::parse(hostile),
                    Err(InputError::TitleHasControl(_))
                ),
                "{hostile:?}"
            );
            assert!(SessionTitle::from_stored(hostile).is_ok(), "{hostile:?}");
        }
        assert_eq!(
            SessionTitle::parse("a\u{1b}").unwrap_err().to_string(),
            "the title contains the control character U+001B: a title is plain text"
        );
        assert_eq!(SessionTitle::parse("a\tb\nc").unwrap().as_str(), "a b c");
    }

    #[test]
    fn a_stored_title_reads_back_as_its_words_single_spaced() {
        for (stored, read) in [
            ("Fix the tests", Some("Fix the tests")),
            ("  Fix  the\ttests\n", Some("Fix the tests")),
            ("Fix the tests ", Some("Fix the tests")),
            ("naïve\u{a0}title", Some("naïve title")),
            ("x", Some("x")),
            ("", None),
            (" \t ", None),
        ] {
            assert_eq!(
                SessionTitle::from_stored(stored)
                    .ok()
                    .as_ref()
                    .map(SessionTitle::as_str),
                read,
                "{stored:?}"
            );
        }
    }

    #[test]
    fn a_title_from_a_prompt_drops_terminal_controls() {
        let prompt = Prompt::parse("SAY \u{1b}]0;pwned\u{7}\u{202e}evil\u{7f}").unwrap();
        assert_eq!(
            SessionTitle::from_prompt(&prompt).as_str(),
            "SAY ]0;pwned evil"
        );
    }

    #[test]
    fn working_dir_must_be_absolute() {
        assert!(WorkingDir::parse("/srv/app").is_ok());
        assert_eq!(
            WorkingDir::parse("srv/app"),
            Err(InputError::RelativeWorkingDir("srv/app".into()))
        );
    }

    #[test]
    fn overrides_replace_only_what_they_name() {
        let session = AgentOptions {
            model: Some("sonnet".into()),
            allowed_tools: vec!["Read".into()],
            disallowed_tools: vec!["WebFetch".into()],
            max_turns: Some(3),
            add_dirs: vec!["/srv/docs".into()],
            keep_open: true,
            ..AgentOptions::default()
        };
        let overrides = OptionOverrides {
            model: Some("opus".into()),
            permission_mode: Some("acceptEdits".into()),
            allowed_tools: Some(vec!["Bash".into(), "Edit".into()]),
            ..OptionOverrides::default()
        };
        let merged = overrides.applied_to(&session);
        assert_eq!(
            merged,
            AgentOptions {
                model: Some("opus".into()),
                permission_mode: Some("acceptEdits".into()),
                allowed_tools: vec!["Bash".into(), "Edit".into()],
                ..session.clone()
            }
        );
        assert_eq!(OptionOverrides::default().applied_to(&session), session);
        assert!(OptionOverrides::default().is_empty() && !overrides.is_empty());
        let zero = OptionOverrides {
            max_turns: Some(0),
            ..OptionOverrides::default()
        };
        assert_eq!(zero.validate(), Err(InputError::ZeroMaxTurns));
    }

    #[test]
    fn zero_max_turns_is_refused() {
        let options = AgentOptions {
            max_turns: Some(0),
            ..AgentOptions::default()
        };
        assert_eq!(options.validate(), Err(InputError::ZeroMaxTurns));
    }
}
