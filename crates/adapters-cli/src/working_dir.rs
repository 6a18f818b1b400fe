//! Checking a session's working directory before anything is spawned, so a failure names
//! the directory rather than the agent binary.

use std::path::Path;

use lulu_domain::ports::LaunchError;

/// Checks that `cwd` is a directory the agent can enter and list.
///
/// # Errors
/// [`LaunchError::WorkingDirMissing`] when it does not exist or is not a directory;
/// [`LaunchError::WorkingDirUnusable`] when it cannot be read (permissions, I/O).
pub fn check_working_dir(cwd: &Path) -> Result<(), LaunchError> {
    std::fs::read_dir(cwd)
        .map(drop)
        .map_err(|error| working_dir_problem(cwd, &error))
}

fn working_dir_problem(cwd: &Path, error: &std::io::Error) -> LaunchError {
    let cwd = cwd.display().to_string();
    match error.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory => {
            LaunchError::WorkingDirMissing { cwd }
        }
        _ => LaunchError::WorkingDirUnusable {
            cwd,
            message: error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_directory_or_a_file_is_missing() {
        let file = tempfile::NamedTempFile::new().unwrap();
        for path in [Path::new("/nonexistent/lulu"), file.path()] {
            assert_eq!(
                check_working_dir(path),
                Err(LaunchError::WorkingDirMissing {
                    cwd: path.display().to_string()
                })
            );
        }
        assert_eq!(check_working_dir(Path::new("/")), Ok(()));
    }

    #[test]
    fn a_directory_that_cannot_be_read_is_named_with_the_reason() {
        // Tests may run as root, which reads any directory: the mapping is checked directly.
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let problem = working_dir_problem(Path::new("/srv/locked"), &denied);
        assert_eq!(
            problem.to_string(),
            "the working directory `/srv/locked` cannot be used: permission denied"
        );
    }
}
