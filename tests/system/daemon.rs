//! The daemon: one per database owns every detached run. Two started at once leave one;
//! one killed with SIGKILL is recovered by the next; a stale socket is replaced; it exits when
//! idle; SIGTERM interrupts its runs resumably; a client of another protocol version is
//! told what to do; fifty runs share one daemon process.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::Instant;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

use crate::harness::{exists, parent_of, reap_orphans, wait_until, Sandbox, PATIENCE, PROTOCOL};

/// `lulu daemon status --json`.
fn status(sandbox: &Sandbox) -> Value {
    let output = sandbox.run(&["daemon", "status", "--json"]);
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "daemon status --json is not JSON ({error}); stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The daemon's socket, as `lulu daemon status` names it.
pub fn socket_of(sandbox: &Sandbox) -> PathBuf {
    PathBuf::from(status(sandbox)["socket"].as_str().expect("a socket path"))
}

/// The one living daemon of the sandbox, once the starters that found it serving have
/// gone (they exit at once, but may still be on their way out).
fn the_daemon(sandbox: &Sandbox) -> i32 {
    let began = Instant::now();
    loop {
        reap_orphans();
        let daemons = sandbox.daemons();
        if daemons.len() == 1 {
            return daemons[0];
        }
        assert!(
            began.elapsed() < PATIENCE,
            "not exactly one daemon: {daemons:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn kill_daemon(pid: i32) {
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    wait_until("the killed daemon is gone", || {
        reap_orphans();
        !exists(pid)
    });
}

#[test]
fn two_daemons_started_at_once_leave_one_and_the_other_says_so() {
    let sandbox = Sandbox::new();
    let first = sandbox.spawn(&["daemon"]);
    let second = sandbox.spawn(&["daemon"]);

    wait_until("one daemon has given up", || {
        reap_orphans();
        sandbox.daemons().len() == 1 && status(&sandbox)["running"] == true
    });
    let survivor = the_daemon(&sandbox);
    let (quitter, keeper) = if survivor.cast_unsigned() == first.id() {
        (second, first)
    } else {
        (first, second)
    };
    let quit = sandbox.finish(quitter);
    assert_eq!(quit.status.code(), Some(1), "{quit:?}");
    assert!(
        String::from_utf8_lossy(&quit.stderr).contains("already serves"),
        "{quit:?}"
    );
    let socket = socket_of(&sandbox);
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the socket is its user's only");

    sandbox.stop_daemon();
    let stopped = sandbox.finish(keeper);
    assert!(stopped.status.success(), "{stopped:?}");
    assert!(!socket.exists(), "a stopped daemon removes its socket");
}

#[test]
fn a_sigkilled_daemons_runs_are_recovered_by_the_next_daemon_with_nothing_orphaned() {
    let sandbox = Sandbox::new();
    let ids = sandbox.detach_all(["SLOW 600".to_owned(), "BASH sleep 300".to_owned()]);
    let daemon = the_daemon(&sandbox);
    for id in &ids {
        let agent = sandbox.wait_for_agent(id);
        assert_eq!(
            parent_of(agent),
            Some(daemon),
            "the daemon owns session {id}"
        );
    }

    kill_daemon(daemon);
    let socket = socket_of(&sandbox);
    assert!(
        std::fs::symlink_metadata(&socket).is_ok_and(|meta| meta.file_type().is_socket()),
        "the dead daemon left its socket"
    );
    // The next command's daemon takes over the stale socket and recovers the runs.
    let next = sandbox.detach("SAY after the crash");

    for id in &ids {
        let session = sandbox.wait_status(id, "interrupted");
        let why = session["last_error"].as_str().unwrap_or_default();
        assert!(
            why.contains("died"),
            "the reason names the dead owner: {why}"
        );
    }
    sandbox.wait_status(&next, "completed");
    assert_ne!(the_daemon(&sandbox), daemon);
    sandbox.assert_nothing_left();
}

#[test]
fn a_socket_left_by_a_dead_daemon_is_replaced() {
    let sandbox = Sandbox::new();
    let socket = socket_of(&sandbox);
    // A daemon that died before it could remove its socket: bound, then abandoned.
    drop(UnixListener::bind(&socket).expect("bind a socket to leave behind"));
    assert!(socket.exists());

    let id = sandbox.detach("SAY hello");

    sandbox.wait_status(&id, "completed");
    assert_eq!(status(&sandbox)["running"], true);
    sandbox.assert_nothing_left();
    assert!(!socket.exists());
}

#[test]
fn the_daemon_exits_when_idle_but_never_while_a_run_is_live() {
    let sandbox = Sandbox::new().env("LULU_DAEMON_IDLE", "1s");
    // Three seconds of work: three times the idle time.
    let id = sandbox.detach("SLOW 30");
    let daemon = the_daemon(&sandbox);
    let socket = socket_of(&sandbox);

    sandbox.wait_status(&id, "completed");
    let began = Instant::now();
    wait_until("the idle daemon exits", || {
        reap_orphans();
        !exists(daemon)
    });
    assert!(began.elapsed() < PATIENCE);
    assert!(!socket.exists(), "an idle daemon removes its socket");
    assert!(sandbox.owners_log_tail().contains("Idle"));
    sandbox.assert_nothing_left();
}

#[test]
fn sigterm_interrupts_the_daemons_runs_resumably_and_it_exits() {
    let sandbox = Sandbox::new();
    let id = sandbox.detach("SLOW 600");
    sandbox.wait_for_agent(&id);
    let daemon = the_daemon(&sandbox);

    let _ = kill(Pid::from_raw(daemon), Signal::SIGTERM);

    wait_until("the daemon exits", || {
        reap_orphans();
        !exists(daemon)
    });
    let session = sandbox.show(&id);
    assert_eq!(session["status"], "interrupted", "{session:#}");
    let resumed = sandbox.ok(&["resume", "--detach", &id, "SAY again"]);
    assert_eq!(resumed.trim(), id);
    sandbox.wait_status(&id, "completed");
    sandbox.assert_nothing_left();
}

#[test]
fn stop_and_restart_refuse_while_runs_are_live_and_force_interrupts_them() {
    let sandbox = Sandbox::new();
    let id = sandbox.detach("SLOW 600");
    sandbox.wait_for_agent(&id);
    let daemon = the_daemon(&sandbox);

    for action in ["stop", "restart"] {
        let refused = sandbox.run(&["daemon", action]);
        assert_eq!(refused.status.code(), Some(1), "{refused:?}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains("1 live run") && stderr.contains("--force"),
            "{stderr}"
        );
        assert_eq!(sandbox.show(&id)["status"], "running");
    }
    let restarted = sandbox.ok(&["daemon", "restart", "--force"]);

    assert!(restarted.contains("restarted"), "{restarted}");
    assert_eq!(sandbox.show(&id)["status"], "interrupted");
    reap_orphans();
    assert!(!exists(daemon), "the old daemon is gone");
    assert_ne!(the_daemon(&sandbox), daemon);
    sandbox.assert_nothing_left();
}

#[test]
fn a_daemon_of_another_protocol_version_gets_a_clear_message_and_nothing_starts() {
    let sandbox = Sandbox::new();
    let socket = socket_of(&sandbox);
    // Plays a daemon of a future Lulu: answers every hello with protocol 999.
    let listener = UnixListener::bind(&socket).expect("bind");
    let fake = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("a client");
        let mut lines = BufReader::new(stream.try_clone().unwrap()).lines();
        let hello: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        let mut stream = stream;
        writeln!(stream, r#"{{"protocol":999,"lulu":"9.9.9","pid":1}}"#).unwrap();
        hello
    });

    let output = sandbox.run(&["run", "--detach", "SAY hi"]);

    let hello = fake.join().expect("the fake daemon was greeted");
    assert_eq!(
        hello["protocol"], PROTOCOL,
        "the client says its version first: {hello}"
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("protocol 999") && stderr.contains("lulu daemon restart"),
        "{stderr}"
    );
    assert_eq!(sandbox.ok(&["list", "--json"]).trim(), "[]");
}

#[test]
fn a_client_of_another_protocol_version_is_refused_by_the_daemon() {
    let sandbox = Sandbox::new();
    let id = sandbox.detach("SAY hi");
    sandbox.wait_status(&id, "completed");

    let stream = UnixStream::connect(socket_of(&sandbox)).expect("connect");
    stream
        .set_read_timeout(Some(PATIENCE))
        .expect("a read timeout");
    let mut writer = stream.try_clone().unwrap();
    writeln!(writer, r#"{{"protocol":999,"lulu":"9.9.9","pid":1}}"#).unwrap();
    let mut lines = BufReader::new(stream).lines();
    let hello: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let refusal: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();

    assert_eq!(hello["protocol"], PROTOCOL, "{hello}");
    assert_eq!(refusal["code"], "protocol_mismatch", "{refusal}");
    assert!(lines.next().is_none(), "the daemon hangs up");
    sandbox.assert_nothing_left();
}

#[test]
fn fifty_detached_runs_started_at_once_are_all_owned_by_one_daemon_process() {
    let sandbox = Sandbox::new().env("LULU_MAX_RUNNING", "60");
    let ids = sandbox.detach_all((0..50).map(|n| format!("SLOW 3000 #{n}")));

    let daemon = the_daemon(&sandbox);
    for id in &ids {
        let agent = sandbox.wait_for_agent(id);
        assert_eq!(parent_of(agent), Some(daemon), "session {id}'s agent");
    }
    let live = status(&sandbox)["live"].as_array().map_or(0, Vec::len);
    assert_eq!(live, 50);
    sandbox.ok(&["daemon", "stop", "--force"]);
    for id in &ids {
        assert_eq!(sandbox.show(id)["status"], "interrupted", "session {id}");
    }
    sandbox.assert_nothing_left();
}

#[test]
fn a_long_database_path_gets_a_short_socket() {
    let sandbox = Sandbox::new();
    let deep = sandbox.work.join("d".repeat(100));
    std::fs::create_dir_all(&deep).unwrap();
    let db = deep.join("lulu.db");
    let db = db.to_str().expect("UTF-8");

    let id = sandbox.ok(&["--db", db, "run", "--detach", "SAY deep"]);
    let output = sandbox.run(&["--db", db, "daemon", "status", "--json"]);
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    let socket = status["socket"].as_str().unwrap();
    assert!(socket.len() < 108, "{socket}");
    wait_until("the session completes", || {
        let shown = sandbox.ok(&["--db", db, "show", id.trim(), "--json"]);
        serde_json::from_str::<Value>(&shown).unwrap()["status"] == "completed"
    });
    let stopped = sandbox.run(&["--db", db, "daemon", "stop"]);
    assert!(stopped.status.success(), "{stopped:?}");
    assert!(!std::path::Path::new(socket).exists());
}

#[test]
fn a_peer_of_another_uid_is_refused_on_both_sides_of_the_socket() {
    let sandbox = Sandbox::new();
    let id = sandbox.detach("SLOW 600");
    sandbox.wait_for_agent(&id);
    let socket = socket_of(&sandbox);
    // Let another user reach the socket at all (the daemon makes it its user's only).
    let dir = sandbox.db.parent().expect("the sandbox dir");
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();

    let nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    let output = sandbox.run_command(sandbox.wrapped(&nobody, &["daemon", "status"]));

    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("belongs to another user"), "{stderr}");
    wait_until("the daemon logs the refusal", || {
        sandbox
            .owners_log_tail()
            .contains("refused a client of another user")
    });
    assert_eq!(sandbox.show(&id)["status"], "running");
    sandbox.ok(&["interrupt", &id]);
    sandbox.assert_nothing_left();
}

#[test]
fn a_detached_run_whose_daemon_cannot_start_fails_clearly_and_stores_nothing() {
    let sandbox = Sandbox::new();
    // A directory where the database should be: the daemon cannot open it.
    let db = sandbox.work.join("not-a-database");
    std::fs::create_dir_all(&db).unwrap();
    let db = db.to_str().expect("UTF-8");

    let output = sandbox.run(&["--db", db, "run", "--detach", "SAY hi"]);

    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("daemon could not start") && stderr.contains("daemon.log"),
        "{stderr}"
    );
    assert!(sandbox.daemons().is_empty());
}
