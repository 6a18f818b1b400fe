//! How a foreground client reports its interrupts, against a daemon this test plays:
//! a timed-out interrupt is reported at once (the run has not settled, and never does
//! until the test says so), and a second Ctrl-C asks the daemon to force.

use std::io::{BufRead as _, BufReader, Lines, Write as _};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::mpsc;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};

use crate::daemon::socket_of;
use crate::harness::{wait_until, Sandbox, PATIENCE, PROTOCOL};

/// One client connection to the played daemon, hellos exchanged.
struct Connection {
    lines: Lines<BufReader<UnixStream>>,
    stream: UnixStream,
}

impl Connection {
    /// The next client (within the harness's patience).
    fn accept(listener: &UnixListener) -> Self {
        listener.set_nonblocking(true).unwrap();
        let mut stream = None;
        wait_until("a client connects", || {
            stream = listener.accept().ok().map(|(stream, _)| stream);
            stream.is_some()
        });
        let stream = stream.expect("a client");
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut connection = Self {
            lines: BufReader::new(stream.try_clone().unwrap()).lines(),
            stream,
        };
        let hello = connection.read();
        assert_eq!(hello["protocol"], PROTOCOL, "{hello}");
        connection.write(&json!({"protocol": PROTOCOL, "lulu": "test", "pid": 1}));
        connection
    }

    fn read(&mut self) -> Value {
        let line = self.lines.next().expect("a line").expect("read in time");
        serde_json::from_str(&line).expect("JSON")
    }

    fn write(&mut self, value: &Value) {
        writeln!(self.stream, "{value}").expect("the client reads");
    }
}

/// A session with `status`, as the daemon would send it.
fn session(status: &str) -> Value {
    let spec = lulu_domain::SessionSpec {
        title: None,
        cwd: lulu_domain::WorkingDir::parse("/srv/app").expect("absolute"),
        prompt: lulu_domain::Prompt::parse("SAY hi").expect("not blank"),
        options: lulu_domain::AgentOptions::default(),
    };
    let id = lulu_domain::SessionId::from_uuid(uuid::Uuid::from_u128(1));
    let run = lulu_domain::RunId::from_uuid(uuid::Uuid::from_u128(2));
    let (session, _) = lulu_domain::Session::queued(id, run, spec, chrono_epoch());
    let mut session = serde_json::to_value(session).unwrap();
    session["status"] = json!(status);
    session
}

/// A fixed time for the played sessions.
fn chrono_epoch() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("a valid time")
}

#[test]
fn a_timed_out_interrupt_is_reported_at_once_and_a_second_ctrl_c_asks_to_force() {
    let sandbox = Sandbox::new();
    let listener = UnixListener::bind(socket_of(&sandbox)).expect("bind");
    let mut child = sandbox.spawn(&["run", "SAY hi"]);
    let pid = Pid::from_raw(child.id().cast_signed());
    let (said, stderr_lines) = mpsc::channel();
    let stderr = child.stderr.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = said.send(line);
        }
    });
    let wait_for_stderr = |needle: &str| loop {
        let line = stderr_lines
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("the client said {needle:?}"));
        if line.contains(needle) {
            return line;
        }
    };

    // The client starts the run and follows it.
    let mut follow = Connection::accept(&listener);
    assert_eq!(follow.read()["request"], "start");
    follow.write(&json!({"response": "session", "session": session("running")}));
    assert_eq!(follow.read()["request"], "follow");
    follow.write(
        &json!({"response": "event", "event": {"event": "session", "session": session("running")}}),
    );

    // Ctrl-C: a graceful interrupt, which times out.
    kill(pid, Signal::SIGINT).unwrap();
    let mut graceful = Connection::accept(&listener);
    let asked = graceful.read();
    assert_eq!(asked["request"], "interrupt", "{asked}");
    assert_ne!(asked["force"], true, "{asked}");
    graceful.write(&json!({
        "response": "error",
        "code": "interrupt_timed_out",
        "message": "interrupt timed out after 10 s; the agent is still running",
    }));
    let reported = wait_for_stderr("timed out");
    assert!(reported.contains("Ctrl-C again"), "{reported}");
    assert!(
        child.try_wait().unwrap().is_none(),
        "reported while the run goes on, not when it settles"
    );

    // Ctrl-C again: a forced interrupt.
    kill(pid, Signal::SIGINT).unwrap();
    let mut forced = Connection::accept(&listener);
    let asked = forced.read();
    assert_eq!(asked["request"], "interrupt", "{asked}");
    assert_eq!(asked["force"], true, "{asked}");
    forced.write(&json!({"response": "interrupt_outcome", "outcome": "interrupted", "session": session("interrupted")}));
    follow.write(&json!({"response": "event", "event": {"event": "settled", "session": session("interrupted")}}));
    let output = sandbox.finish(child);

    assert_eq!(output.status.code(), Some(130), "{output:?}");
}

#[test]
fn interrupt_json_carries_the_outcome_beside_the_session() {
    let sandbox = Sandbox::new();
    let id = sandbox.detach("SLOW 600");
    sandbox.wait_status(&id, "running");

    let printed: Value =
        serde_json::from_str(&sandbox.ok(&["interrupt", "--force", "--json", &id])).unwrap();

    assert_eq!(printed["outcome"], "interrupted", "{printed:#}");
    assert_eq!(printed["id"], id.as_str());
    assert_eq!(printed["status"], "interrupted");
    sandbox.assert_nothing_left();
}

#[test]
fn a_third_ctrl_c_leaves_a_daemon_that_does_not_answer() {
    let sandbox = Sandbox::new();
    let listener = UnixListener::bind(socket_of(&sandbox)).expect("bind");
    let child = sandbox.spawn(&["run", "SAY hi"]);
    let pid = Pid::from_raw(child.id().cast_signed());
    let mut follow = Connection::accept(&listener);
    assert_eq!(follow.read()["request"], "start");
    follow.write(&json!({"response": "session", "session": session("running")}));
    assert_eq!(follow.read()["request"], "follow");

    // Both interrupts reach the daemon, which never answers them.
    let mut asked = Vec::new();
    let mut unanswered = Vec::new();
    for _ in 0..2 {
        kill(pid, Signal::SIGINT).unwrap();
        let mut interrupt = Connection::accept(&listener);
        asked.push(interrupt.read());
        unanswered.push(interrupt);
    }
    kill(pid, Signal::SIGINT).unwrap();
    let output = sandbox.finish(child);

    assert_eq!(asked[1]["force"], true, "{asked:?}");
    assert_eq!(output.status.code(), Some(130), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("stopped following"), "{stderr}");
    drop(unanswered);
}
