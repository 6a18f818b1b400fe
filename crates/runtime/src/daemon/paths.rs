//! Where a database's daemon keeps its lock, socket and log.
//!
//! The lock and the log sit beside the database (the lock is a file of its own: the
//! database file itself is only ever opened through SQLite). The socket goes to
//! `$XDG_RUNTIME_DIR` when it is set, else beside the database; a path longer than a
//! socket address holds (108 bytes with its NUL) falls back to a short name in the
//! temporary directory, hashed from the database path so each database has its own.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

/// The longest socket path a `sockaddr_un` holds (108 bytes, one for the NUL).
pub const MAX_SOCKET_PATH: usize = 107;

/// A database's daemon files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonPaths {
    /// The database.
    pub db: PathBuf,
    /// The lock file only one daemon holds at a time.
    pub lock: PathBuf,
    /// The socket clients connect to.
    pub socket: PathBuf,
    /// The daemon's log (rotated).
    pub log: PathBuf,
}

impl DaemonPaths {
    /// The paths for the database at `db` (absolute), given `$XDG_RUNTIME_DIR` and the
    /// temporary directory.
    pub fn new(db: &Path, runtime_dir: Option<&Path>, temp_dir: &Path) -> Self {
        let hash = format!("{:016x}", fnv1a(db.as_os_str().as_bytes()));
        let preferred = match runtime_dir {
            Some(dir) if dir.is_absolute() => dir.join(format!("lulu-{hash}.sock")),
            _ => beside(db, ".sock"),
        };
        let socket = if preferred.as_os_str().len() <= MAX_SOCKET_PATH {
            preferred
        } else {
            temp_dir.join(format!("lulu-{hash}.sock"))
        };
        Self {
            db: db.to_path_buf(),
            lock: beside(db, ".daemon.lock"),
            socket,
            log: beside(db, ".daemon.log"),
        }
    }

    /// The paths for `db` in this process's environment.
    pub fn from_env(db: &Path) -> Self {
        let runtime_dir = std::env::var_os("XDG_RUNTIME_DIR")
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from);
        Self::new(db, runtime_dir.as_deref(), &std::env::temp_dir())
    }
}

/// `db` with `suffix` added to its file name.
fn beside(db: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = db.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    db.with_file_name(name)
}

/// FNV-1a, 64 bits: stable across builds (unlike the standard hasher), so every Lulu
/// version finds the same socket for the same database.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_and_log_sit_beside_the_database_and_the_socket_in_the_runtime_dir() {
        let paths = DaemonPaths::new(
            Path::new("/data/lulu.db"),
            Some(Path::new("/run/user/1000")),
            Path::new("/tmp"),
        );
        assert_eq!(paths.lock, PathBuf::from("/data/lulu.db.daemon.lock"));
        assert_eq!(paths.log, PathBuf::from("/data/lulu.db.daemon.log"));
        let socket = paths.socket.to_str().unwrap();
        assert!(socket.starts_with("/run/user/1000/lulu-"), "{socket}");
        assert_eq!(paths.socket.extension(), Some(std::ffi::OsStr::new("sock")));
        let other = DaemonPaths::new(
            Path::new("/data/other.db"),
            Some(Path::new("/run/user/1000")),
            Path::new("/tmp"),
        );
        assert_ne!(paths.socket, other.socket, "one socket per database");
    }

    #[test]
    fn without_a_runtime_dir_the_socket_sits_beside_the_database() {
        let paths = DaemonPaths::new(Path::new("/data/lulu.db"), None, Path::new("/tmp"));
        assert_eq!(paths.socket, PathBuf::from("/data/lulu.db.sock"));
    }

    #[test]
    fn a_socket_path_too_long_for_an_address_falls_back_to_a_short_hashed_name() {
        let deep = format!("/{}/lulu.db", "d".repeat(120));
        let paths = DaemonPaths::new(Path::new(&deep), None, Path::new("/tmp"));
        let socket = paths.socket.to_str().unwrap();
        assert!(socket.len() <= MAX_SOCKET_PATH, "{socket}");
        assert!(socket.starts_with("/tmp/lulu-"), "{socket}");
        assert_eq!(
            paths.socket,
            DaemonPaths::new(Path::new(&deep), None, Path::new("/tmp")).socket,
            "the same database always finds the same socket"
        );
    }
}
