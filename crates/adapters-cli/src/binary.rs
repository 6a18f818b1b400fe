//! Finding the agent binary before anything is spawned.

use std::ffi::{OsStr, OsString};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use lulu_domain::ports::LaunchError;

/// The executable `binary` names: itself if it holds a `/`, else the first match on
/// `search_path` (a `PATH`-style list).
///
/// # Errors
/// [`LaunchError::BinaryNotFound`] naming `binary` when no executable file matches.
pub fn resolve_binary(binary: &OsStr, search_path: Option<&OsStr>) -> Result<PathBuf, LaunchError> {
    let not_found = || LaunchError::BinaryNotFound {
        binary: binary.to_string_lossy().into_owned(),
    };
    if binary.is_empty() {
        return Err(not_found());
    }
    let as_path = Path::new(binary);
    if as_path.components().count() > 1 || binary.as_encoded_bytes().contains(&b'/') {
        return is_executable(as_path)
            .then(|| as_path.to_path_buf())
            .ok_or_else(not_found);
    }
    let search_path = search_path.map(OsString::from).unwrap_or_default();
    std::env::split_paths(&search_path)
        .map(|dir| dir.join(binary))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(not_found)
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_found_on_the_search_path() {
        let found =
            resolve_binary(OsStr::new("sh"), Some(OsStr::new("/nonexistent:/bin"))).unwrap();
        assert_eq!(found, PathBuf::from("/bin/sh"));
    }

    #[test]
    fn a_missing_name_or_path_is_reported_by_name() {
        assert_eq!(
            resolve_binary(OsStr::new("no-such-claude"), Some(OsStr::new("/bin"))),
            Err(LaunchError::BinaryNotFound {
                binary: "no-such-claude".into()
            })
        );
        assert_eq!(
            resolve_binary(OsStr::new("/bin/no-such-claude"), None),
            Err(LaunchError::BinaryNotFound {
                binary: "/bin/no-such-claude".into()
            })
        );
    }

    #[test]
    fn a_directory_is_not_a_binary() {
        assert!(resolve_binary(OsStr::new("/bin"), None).is_err());
    }
}
