//! Exactly one daemon per database: an exclusive `flock` on a lock file beside it.
//!
//! The lock is released by the kernel when the daemon exits, however it exits, so a
//! daemon killed with SIGKILL never blocks the next one. It is never taken on the database file
//! itself (closing any other descriptor of that file would drop SQLite's POSIX locks).

use std::fs::{File, OpenOptions};
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};

use crate::error::RuntimeError;

/// The held daemon lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DaemonLock {
    _held: Flock<File>,
}

impl DaemonLock {
    /// Takes the lock at `path` if no other process holds it; `None` if one does.
    ///
    /// # Errors
    /// [`RuntimeError::Daemon`] when the lock file cannot be opened or locked.
    pub fn try_acquire(path: &Path) -> Result<Option<Self>, RuntimeError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|error| {
                RuntimeError::Daemon(format!(
                    "cannot open the daemon lock {}: {error}",
                    path.display()
                ))
            })?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(held) => Ok(Some(Self { _held: held })),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
            Err((_, error)) => Err(RuntimeError::Daemon(format!(
                "cannot lock {}: {error}",
                path.display()
            ))),
        }
    }

    /// Whether some process holds the lock at `path` now (probed by taking and releasing it).
    ///
    /// # Errors
    /// As [`try_acquire`](Self::try_acquire).
    pub fn is_held(path: &Path) -> Result<bool, RuntimeError> {
        Ok(Self::try_acquire(path)?.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_taker_is_refused_until_the_first_lets_go() {
        let dir = std::env::temp_dir().join(format!("lulu-lock-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("lulu.db.daemon.lock");

        let first = DaemonLock::try_acquire(&path)
            .unwrap()
            .expect("free at first");
        assert!(DaemonLock::try_acquire(&path).unwrap().is_none());
        assert!(DaemonLock::is_held(&path).unwrap());
        drop(first);
        assert!(!DaemonLock::is_held(&path).unwrap());
        assert!(DaemonLock::try_acquire(&path).unwrap().is_some());

        std::fs::remove_dir_all(&dir).unwrap();
    }
}
