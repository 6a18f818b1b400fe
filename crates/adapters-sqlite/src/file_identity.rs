//! Which file a store opened, told apart by its device and inode numbers, read with `stat`
//! (which takes no descriptor, so no POSIX lock is put at risk). A store whose path now
//! names another file, or nothing, was deleted or replaced under it: what it writes from
//! then on reaches only the old file, which no other process sees.

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

/// A file's device and inode numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileIdentity {
    device: u64,
    inode: u64,
}

/// What the path names now, compared with the file that was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileAtPath {
    /// The same file.
    Same,
    /// Nothing, or another file: the opened one was deleted, moved or replaced.
    Gone,
    /// `stat` failed for another reason (say, a permission on a directory): cannot tell.
    Unknown,
}

impl FileIdentity {
    /// The identity of the file at `path` now, if `stat` can say.
    pub fn of(path: &Path) -> std::io::Result<Self> {
        let metadata = std::fs::metadata(path)?;
        Ok(Self {
            device: metadata.dev(),
            inode: metadata.ino(),
        })
    }

    /// Whether `path` still names this file.
    pub fn compare_with(self, path: &Path) -> FileAtPath {
        match Self::of(path) {
            Ok(now) if now == self => FileAtPath::Same,
            Ok(_) => FileAtPath::Gone,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => FileAtPath::Gone,
            Err(_) => FileAtPath::Unknown,
        }
    }
}
