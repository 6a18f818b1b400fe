//! The daemon's log file: appended to, and rotated once it reaches a size, so a daemon
//! that runs for weeks keeps at most two files of bounded size beside the database.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Bytes a log file reaches before it is rotated.
pub const DEFAULT_LOG_LIMIT: u64 = 8 * 1024 * 1024;

/// A log file that moves itself to `<path>.1` (replacing the older one) once full.
#[derive(Debug)]
pub struct RotatingLog {
    path: PathBuf,
    file: File,
    written: u64,
    limit: u64,
}

impl RotatingLog {
    /// Opens (appending) the log at `path`, rotated past `limit` bytes.
    ///
    /// # Errors
    /// When the file cannot be opened.
    pub fn open(path: &Path, limit: u64) -> io::Result<Self> {
        let file = append(path)?;
        let written = file.metadata()?.len();
        Ok(Self {
            path: path.to_path_buf(),
            file,
            written,
            limit,
        })
    }

    /// Where the previous log goes on rotation.
    pub fn rotated_path(path: &Path) -> PathBuf {
        let mut name = path.as_os_str().to_os_string();
        name.push(".1");
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> io::Result<()> {
        std::fs::rename(&self.path, Self::rotated_path(&self.path))?;
        self.file = append(&self.path)?;
        self.written = 0;
        Ok(())
    }
}

fn append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

impl Write for RotatingLog {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written > 0 && self.written + buf.len() as u64 > self.limit {
            // A log that cannot rotate keeps growing rather than lose the line.
            let _ = self.rotate();
        }
        let written = self.file.write(buf)?;
        self.written += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The last warning or error the log at `path` holds about `session` (its id appears in
/// the line), from the log's last 256 KiB: what a client tells its user when the
/// daemon could not do all it should for the session (store every line, say).
pub fn last_problem(path: &Path, session: &str) -> Option<String> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    const TAIL: u64 = 256 * 1024;
    let mut file = File::open(path).ok()?;
    let length = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(length.saturating_sub(TAIL)))
        .ok()?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).ok()?;
    String::from_utf8_lossy(&tail)
        .lines()
        .rev()
        .find(|line| {
            line.contains(session) && (line.contains(" WARN ") || line.contains(" ERROR "))
        })
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_log_is_rotated_and_two_files_at_most_remain() {
        let dir = std::env::temp_dir().join(format!("lulu-log-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("lulu.db.daemon.log");
        let mut log = RotatingLog::open(&path, 100).unwrap();

        for n in 0..30 {
            writeln!(log, "line {n:04} of the daemon log").unwrap();
        }

        let current = std::fs::read_to_string(&path).unwrap();
        let previous = std::fs::read_to_string(RotatingLog::rotated_path(&path)).unwrap();
        assert!(current.len() <= 100, "{current}");
        assert!(previous.len() <= 100, "{previous}");
        assert!(
            current.ends_with("line 0029 of the daemon log\n"),
            "{current}"
        );
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_last_problem_of_a_session_is_found_in_the_log() {
        let dir = std::env::temp_dir().join(format!("lulu-log-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("lulu.db.daemon.log");
        std::fs::write(
            &path,
            "t  WARN run{session_id=aaaa}: first\nt  INFO run{session_id=aaaa}: fine\n\
             t ERROR run{session_id=aaaa}: disk is full\nt ERROR run{session_id=bbbb}: other\n",
        )
        .unwrap();

        assert_eq!(
            last_problem(&path, "aaaa").as_deref(),
            Some("t ERROR run{session_id=aaaa}: disk is full")
        );
        assert_eq!(last_problem(&path, "cccc"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
