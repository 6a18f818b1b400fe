//! Descriptors a daemon inherited from whoever started it.
//!
//! Every descriptor Lulu opens is close-on-exec (std, tokio and SQLite all ask for it), so
//! none reaches an agent. But a daemon started on demand inherits what its starter's own
//! parent left open without close-on-exec (a shell's `exec 7>file`, a pipe a script
//! reads until it ends, a build tool's job-server): the daemon would keep each open for
//! as long as it lives, and hand it on to every agent and every tool of every run. The
//! kernel tells which descriptors lack the flag (`/proc/self/fdinfo/N`'s `flags`), and a
//! daemon closes those first thing: it never uses what it inherited beyond 0, 1 and 2.

use std::path::Path;

use tracing::{info, warn};

/// `O_CLOEXEC` as `/proc/<pid>/fdinfo/<fd>` shows it in `flags` (octal).
const O_CLOEXEC: u32 = 0o2_000_000;

/// Closes every descriptor above stderr that this process holds without close-on-exec:
/// only inherited ones can be such (Lulu opens none). Returns how many it closed.
///
/// Call it before the database is opened: closing any descriptor of a file drops the
/// process's POSIX locks on that file, which SQLite relies on once it holds them.
pub fn close_inherited() -> usize {
    let mut closed = 0;
    for fd in inherited_without_cloexec(Path::new("/proc/self")) {
        match nix::unistd::close(fd) {
            Ok(()) => closed += 1,
            Err(error) => warn!(fd, %error, "could not close an inherited descriptor"),
        }
    }
    if closed > 0 {
        info!(closed, "closed descriptors inherited without close-on-exec");
    }
    closed
}

/// The descriptors above stderr of the process at `proc_dir` (`/proc/<pid>`) that lack
/// close-on-exec. A descriptor that closes while it is looked at is left out.
fn inherited_without_cloexec(proc_dir: &Path) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir(proc_dir.join("fd")) else {
        return Vec::new();
    };
    let fds: Vec<i32> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd > 2)
        .collect();
    fds.into_iter()
        .filter(|fd| {
            let info = std::fs::read_to_string(proc_dir.join(format!("fdinfo/{fd}")));
            info.ok()
                .and_then(|text| flags_of(&text))
                .is_some_and(|flags| flags & O_CLOEXEC == 0)
        })
        .collect()
}

/// The `flags:` value of an fdinfo text (octal).
fn flags_of(fdinfo: &str) -> Option<u32> {
    fdinfo
        .lines()
        .find_map(|line| line.strip_prefix("flags:"))
        .and_then(|value| u32::from_str_radix(value.trim(), 8).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_read_in_octal_and_close_on_exec_is_told_apart() {
        let cloexec = "pos:\t0\nflags:\t02100002\nmnt_id:\t24\n";
        let inherited = "pos:\t0\nflags:\t01\nmnt_id:\t16\n";
        assert_eq!(flags_of(cloexec), Some(0o2_100_002));
        assert_ne!(flags_of(cloexec).unwrap() & O_CLOEXEC, 0);
        assert_eq!(flags_of(inherited).unwrap() & O_CLOEXEC, 0);
        assert_eq!(flags_of("pos:\t0\n"), None);
    }

    #[test]
    fn what_this_process_opens_itself_is_never_taken_for_inherited() {
        let file = std::fs::File::open("/dev/null").expect("/dev/null opens");
        let (reader, writer) = std::io::pipe().expect("a pipe");
        let own: Vec<i32> = {
            use std::os::fd::AsRawFd as _;
            vec![file.as_raw_fd(), reader.as_raw_fd(), writer.as_raw_fd()]
        };
        let flagged = inherited_without_cloexec(Path::new("/proc/self"));
        assert!(
            own.iter().all(|fd| !flagged.contains(fd)),
            "{own:?} in {flagged:?}"
        );
    }
}
