//! Checks a front end makes before it stores anything: could a run start at all? Both
//! front ends call them, so a mistyped directory or agent binary is refused as the user's
//! mistake, with nothing stored and no warning, instead of leaving a failed session.

use std::path::{Path, PathBuf};

use lulu_domain::ports::LaunchError;

/// Checks that the agent could be launched in `cwd` with `claude_bin` (a path, or a name
/// looked up on this process's `PATH`); returns the binary as it would be run.
///
/// # Errors
/// The [`LaunchError`] the launcher would fail with: the directory is missing, not a
/// directory or unreadable; the binary is missing, a directory or not executable. Each
/// names the path.
pub fn check_launch(claude_bin: &Path, cwd: &Path) -> Result<PathBuf, LaunchError> {
    lulu_adapters_cli::check_working_dir(cwd)?;
    lulu_adapters_cli::resolve_binary(claude_bin.as_os_str(), std::env::var_os("PATH").as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_is_checked_before_the_binary() {
        assert_eq!(
            check_launch(Path::new("/no/such/claude"), Path::new("/no/such/dir")),
            Err(LaunchError::WorkingDirMissing {
                cwd: "/no/such/dir".into()
            })
        );
        assert_eq!(
            check_launch(Path::new("/no/such/claude"), Path::new("/")),
            Err(LaunchError::BinaryNotFound {
                binary: "/no/such/claude".into()
            })
        );
        assert_eq!(
            check_launch(Path::new("/bin/sh"), Path::new("/")),
            Ok(PathBuf::from("/bin/sh"))
        );
    }
}
