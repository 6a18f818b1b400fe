//! Identifiers: newtypes over UUIDs so a session id can never be passed where a run id belongs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The error returned when text is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not a valid id: expected a UUID such as 8d12e9c7-e912-49e2-87ad-7f5c8469e777"
)]
pub struct InvalidId {
    /// The text that failed to parse.
    pub input: String,
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// The first eight hex digits, for tables and log lines.
            pub fn short(&self) -> String {
                let mut text = self.0.simple().to_string();
                text.truncate(8);
                text
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(input: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(input.trim())
                    .map(Self)
                    .map_err(|_| InvalidId { input: input.to_owned() })
            }
        }
    };
}

uuid_id!(
    /// Identifies a Lulu session. It is also the Claude conversation id (`--session-id`).
    SessionId
);
uuid_id!(
    /// Identifies one process execution (a run) of a session.
    RunId
);
uuid_id!(
    /// Identifies one Lulu process acting as the owner of the runs it spawned.
    OwnerId
);
/// Identifies one cross-process control request (the mailbox's own sequence number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ControlRequestId(i64);

impl ControlRequestId {
    /// The id with this number.
    pub const fn from_value(value: i64) -> Self {
        Self(value)
    }

    /// Its number.
    pub const fn value(self) -> i64 {
        self.0
    }
}

impl fmt::Display for ControlRequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_id_round_trips_through_text() {
        let id: SessionId = "8d12e9c7-e912-49e2-87ad-7f5c8469e777".parse().unwrap();
        assert_eq!(id.to_string(), "8d12e9c7-e912-49e2-87ad-7f5c8469e777");
        assert_eq!(id.short(), "8d12e9c7");
    }

    #[test]
    fn garbage_is_refused_with_the_input_in_the_message() {
        let err = "not-a-uuid".parse::<RunId>().unwrap_err();
        assert!(err.to_string().contains("`not-a-uuid`"));
    }
}
