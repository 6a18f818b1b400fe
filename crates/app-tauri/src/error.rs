//! The `{code, message, field}` every command fails with: the runtime's stable code and
//! message, plus the form field at fault when the user can fix it there.

use serde::Serialize;

use lulu_domain::ports::LaunchError;
use lulu_domain::InputError;
use lulu_runtime::RuntimeError;

/// Why a command failed, as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandError {
    /// A stable word (`unknown_id`, `invalid_input`, `still_live`, …).
    pub code: String,
    /// What failed and what to do, for people.
    pub message: String,
    /// The form field the error belongs to (`prompt`, `cwd`, `title`, `id`, …), if any.
    pub field: Option<&'static str>,
}

impl CommandError {
    /// An error of the user's input in `field`.
    pub fn input(field: &'static str, code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            field: Some(field),
        }
    }

    /// The same error, tied to `field`.
    #[must_use]
    pub fn on(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl From<RuntimeError> for CommandError {
    fn from(error: RuntimeError) -> Self {
        let field = match &error {
            RuntimeError::Input(input) => Some(input_field(input)),
            RuntimeError::UnknownId(_)
            | RuntimeError::IdTooShort(_)
            | RuntimeError::AmbiguousId { .. } => Some("id"),
            _ => None,
        };
        let payload = error.payload();
        Self {
            code: payload.code,
            message: payload.message,
            field,
        }
    }
}

impl From<InputError> for CommandError {
    fn from(error: InputError) -> Self {
        Self::input(input_field(&error), "invalid_input", error.to_string())
    }
}

impl From<LaunchError> for CommandError {
    fn from(error: LaunchError) -> Self {
        let field = match error {
            LaunchError::WorkingDirMissing { .. } | LaunchError::WorkingDirUnusable { .. } => "cwd",
            _ => "agent",
        };
        Self::input(field, "cannot_launch", error.to_string())
    }
}

/// The form field an input error is about.
fn input_field(error: &InputError) -> &'static str {
    match error {
        InputError::EmptyPrompt => "prompt",
        InputError::EmptyTitle
        | InputError::TitleTooLong { .. }
        | InputError::TitleHasControl(_) => "title",
        InputError::RelativeWorkingDir(_) => "cwd",
        InputError::ZeroMaxTurns => "max_turns",
    }
}
