//! The watch stream: a client of the daemon's socket is told of every change the
//! daemon makes to any session, in order.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::net::UnixStream;

use serde_json::Value;

use crate::daemon::socket_of;
use crate::harness::{Sandbox, PATIENCE};

#[test]
fn a_watcher_is_told_of_every_change_the_daemon_makes() {
    let sandbox = Sandbox::new();
    let first = sandbox.detach("SAY first");
    sandbox.wait_status(&first, "completed");
    let stream = UnixStream::connect(socket_of(&sandbox)).expect("connect");
    stream
        .set_read_timeout(Some(PATIENCE))
        .expect("a read timeout");
    let mut writer = stream.try_clone().unwrap();
    writeln!(writer, r#"{{"protocol":2,"lulu":"test","pid":1}}"#).unwrap();
    writeln!(writer, r#"{{"request":"watch"}}"#).unwrap();
    let mut lines = BufReader::new(stream).lines();
    let _hello = lines.next().unwrap().unwrap();
    let mut next_change = || -> Value {
        let line = lines
            .next()
            .expect("a change")
            .expect("read within the deadline");
        let response: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(response["response"], "change", "{response}");
        response["change"].clone()
    };

    let id = sandbox.detach("SAY watched");
    let mut statuses = Vec::new();
    let mut grew = false;
    while statuses.last().map(String::as_str) != Some("completed") {
        let change = next_change();
        match change["change"].as_str() {
            Some("session") if change["session"]["id"] == id.as_str() => {
                statuses.push(change["session"]["status"].as_str().unwrap().to_owned());
            }
            Some("transcript") if change["session_id"] == id.as_str() => grew = true,
            _ => {}
        }
    }
    sandbox.ok(&["rm", &id]);
    let deleted = next_change();

    assert_eq!(
        statuses.first().map(String::as_str),
        Some("queued"),
        "{statuses:?}"
    );
    assert!(statuses.contains(&"running".to_owned()), "{statuses:?}");
    assert!(grew, "the transcript growing is a change");
    assert_eq!(deleted["change"], "deleted", "{deleted}");
    assert_eq!(deleted["id"], id.as_str());
    drop(writer);
    sandbox.assert_nothing_left();
}
