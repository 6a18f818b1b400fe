//! Finding the agent binary before anything is spawned, and saying exactly what is wrong
//! with one that cannot be run.

use std::ffi::{OsStr, OsString};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use lulu_domain::ports::LaunchError;

/// The executable `binary` names: itself if it holds a `/`, else the first match on
/// `search_path` (a `PATH`-style list). A relative path is taken as it is: the caller
/// makes it absolute against the directory the user started from.
///
/// # Errors
/// [`LaunchError::BinaryNotFound`] naming `binary` when nothing by that name exists;
/// [`LaunchError::BinaryNotRunnable`] naming the file when it exists but is a directory,
/// not executable, or unreadable (on `search_path`: only if no runnable match follows).
pub fn resolve_binary(binary: &OsStr, search_path: Option<&OsStr>) -> Result<PathBuf, LaunchError> {
    let not_found = || LaunchError::BinaryNotFound {
        binary: binary.to_string_lossy().into_owned(),
    };
    if binary.is_empty() {
        return Err(not_found());
    }
    let as_path = Path::new(binary);
    if binary.as_encoded_bytes().contains(&b'/') {
        return match candidate(as_path) {
            Candidate::Runnable => Ok(as_path.to_path_buf()),
            Candidate::Missing => Err(not_found()),
            Candidate::NotRunnable(reason) => Err(not_runnable(as_path, reason)),
        };
    }
    let search_path = search_path.map(OsString::from).unwrap_or_default();
    let mut first_problem = None;
    for path in std::env::split_paths(&search_path).map(|dir| dir.join(binary)) {
        match candidate(&path) {
            Candidate::Runnable => return Ok(path),
            Candidate::Missing => {}
            Candidate::NotRunnable(reason) => {
                first_problem.get_or_insert_with(|| not_runnable(&path, reason));
            }
        }
    }
    Err(first_problem.unwrap_or_else(not_found))
}

/// What a path offers as an agent binary.
enum Candidate {
    Runnable,
    Missing,
    NotRunnable(String),
}

fn candidate(path: &Path) -> Candidate {
    let meta = match path.metadata() {
        Ok(meta) => meta,
        Err(error)
            if matches!(
                error.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Candidate::Missing
        }
        Err(error) => return Candidate::NotRunnable(format!("cannot be read ({error})")),
    };
    if meta.is_dir() {
        return Candidate::NotRunnable("is a directory".to_owned());
    }
    if !meta.is_file() {
        return Candidate::NotRunnable("is not a regular file".to_owned());
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Candidate::NotRunnable("is not executable".to_owned());
    }
    Candidate::Runnable
}

fn not_runnable(path: &Path, reason: String) -> LaunchError {
    LaunchError::BinaryNotRunnable {
        binary: path.display().to_string(),
        reason,
    }
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
    fn a_directory_is_not_a_binary_and_says_so() {
        assert_eq!(
            resolve_binary(OsStr::new("/bin"), None),
            Err(LaunchError::BinaryNotRunnable {
                binary: "/bin".into(),
                reason: "is a directory".into()
            })
        );
    }

    #[test]
    fn a_file_without_execute_permission_says_so_also_when_found_on_the_search_path() {
        let dir = tempfile::tempdir().unwrap();
        let claude = dir.path().join("claude");
        std::fs::write(&claude, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&claude, std::fs::Permissions::from_mode(0o644)).unwrap();
        let expected = Err(LaunchError::BinaryNotRunnable {
            binary: claude.display().to_string(),
            reason: "is not executable".into(),
        });

        assert_eq!(resolve_binary(claude.as_os_str(), None), expected);
        assert_eq!(
            resolve_binary(OsStr::new("claude"), Some(dir.path().as_os_str())),
            expected
        );
        let shadowing = dir.path().join("sh");
        std::fs::write(&shadowing, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&shadowing, std::fs::Permissions::from_mode(0o644)).unwrap();
        let later = format!("{}:/bin", dir.path().display());
        assert_eq!(
            resolve_binary(OsStr::new("sh"), Some(OsStr::new(&later))),
            Ok(PathBuf::from("/bin/sh")),
            "a runnable match later on the path wins"
        );
    }
}
