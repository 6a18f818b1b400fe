//! Descriptors: a daemon started on demand holds nothing its starter inherited beyond
//! stdin, stdout and stderr (a shell's `exec 7>file`, a pipe a script reads to its end),
//! and its agents hold none of the daemon's descriptors (database, lock, log, sockets).

use std::path::{Path, PathBuf};

use crate::harness::{wait_until, Sandbox};

/// The open descriptors of process `pid` with what each points at.
fn descriptors(pid: i32) -> Vec<(i32, String)> {
    let dir = PathBuf::from(format!("/proc/{pid}/fd"));
    let entries = std::fs::read_dir(&dir).expect("the process's descriptors are listed");
    let mut found: Vec<(i32, String)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let fd = entry.file_name().to_str()?.parse().ok()?;
            let target = std::fs::read_link(entry.path()).ok()?;
            Some((fd, target.to_string_lossy().into_owned()))
        })
        .collect();
    found.sort();
    found
}

/// A daemon's files beside its database: what it is meant to hold open.
fn daemon_files(db: &Path) -> Vec<String> {
    ["", "-wal", "-shm", ".daemon.lock", ".daemon.log"]
        .iter()
        .map(|suffix| format!("{}{suffix}", db.display()))
        .collect()
}

/// Whether a daemon's descriptor above stderr is one it opened itself: its files, its
/// sockets, its event loop, the pipes to its agents, or a passing look at `/proc` or
/// `/dev/null` (a spawn's).
fn meant_for_the_daemon(target: &str, files: &[String]) -> bool {
    files.iter().any(|file| file == target)
        || ["socket:", "anon_inode:", "pipe:", "/proc/", "/dev/null"]
            .iter()
            .any(|kind| target.starts_with(kind))
}

#[test]
fn a_daemon_started_on_demand_and_its_agents_hold_no_descriptor_not_meant_for_them() {
    let sandbox = Sandbox::new();
    let marker = sandbox.db.with_file_name("inherited-by-the-client");
    // The client inherits fd 7 without close-on-exec, as after a shell's `exec 7>>file`.
    let command = sandbox.wrapped(
        &[
            "sh",
            "-c",
            r#"exec 7>>"$0"; exec "$@""#,
            marker.to_str().expect("a UTF-8 path"),
        ],
        &["run", "--detach", "SLOW 600"],
    );
    let output = sandbox.run_command(command);
    assert!(output.status.success(), "{output:?}");
    let id = String::from_utf8(output.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned();
    let agent = sandbox.wait_for_agent(&id);
    let mut daemons = Vec::new();
    wait_until("one daemon", || {
        daemons = sandbox.daemons();
        daemons.len() == 1
    });
    let marker = marker.display().to_string();
    let files = daemon_files(&sandbox.db);

    let daemon_fds = descriptors(daemons[0]);
    let agent_fds = descriptors(agent);

    let unexpected: Vec<&(i32, String)> = daemon_fds
        .iter()
        .filter(|(fd, target)| {
            *fd > 2 && (*target == marker || !meant_for_the_daemon(target, &files))
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "the daemon holds what it was not meant to: {unexpected:?}\nall: {daemon_fds:?}"
    );
    let daemons_own: Vec<&String> = daemon_fds.iter().map(|(_, target)| target).collect();
    let leaked: Vec<&(i32, String)> = agent_fds
        .iter()
        .filter(|(fd, target)| {
            *fd > 2
                && (*target == marker
                    || files.contains(target)
                    || target == "/dev/null"
                    // An event loop's descriptor names no inode: every process has its own.
                    || (!target.starts_with("anon_inode:") && daemons_own.contains(&target)))
        })
        .collect();
    assert!(
        leaked.is_empty(),
        "the agent inherited: {leaked:?}\nall: {agent_fds:?}\ndaemon's: {daemon_fds:?}"
    );
    sandbox.interrupt_cleanly(&id);
    sandbox.assert_nothing_left();
}
