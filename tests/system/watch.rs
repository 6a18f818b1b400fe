//! The watch stream: a client of the daemon's socket is told of every change to any
//! session, in order: the daemon's own as it makes them, and those another process
//! makes to the same database, through the change feed.

use std::io::{BufRead as _, BufReader, Lines, Write as _};
use std::os::unix::net::UnixStream;

use serde_json::Value;

use crate::daemon::socket_of;
use crate::harness::{Sandbox, PATIENCE, PROTOCOL};

/// A raw client of the daemon's socket that asked to watch.
struct Watcher {
    lines: Lines<BufReader<UnixStream>>,
    _writer: UnixStream,
}

impl Watcher {
    /// Connects, says hello and watches; returns once the daemon says it is subscribed.
    fn subscribe(sandbox: &Sandbox) -> Self {
        let stream = UnixStream::connect(socket_of(sandbox)).expect("connect");
        stream
            .set_read_timeout(Some(PATIENCE))
            .expect("a read timeout");
        let mut writer = stream.try_clone().unwrap();
        writeln!(writer, r#"{{"protocol":{PROTOCOL},"lulu":"test","pid":1}}"#).unwrap();
        writeln!(writer, r#"{{"request":"watch"}}"#).unwrap();
        let mut watcher = Self {
            lines: BufReader::new(stream).lines(),
            _writer: writer,
        };
        let _hello = watcher.next_line();
        let subscribed = watcher.next_line();
        assert_eq!(subscribed["response"], "watching", "{subscribed}");
        watcher
    }

    fn next_line(&mut self) -> Value {
        let line = self
            .lines
            .next()
            .expect("a line")
            .expect("read within the deadline");
        serde_json::from_str(&line).unwrap()
    }

    /// The next change (waits up to the harness's patience).
    fn next_change(&mut self) -> Value {
        let response = self.next_line();
        assert_eq!(response["response"], "change", "{response}");
        response["change"].clone()
    }
}

#[test]
fn a_watcher_is_told_of_every_change_the_daemon_makes() {
    let sandbox = Sandbox::new();
    let first = sandbox.detach("SAY first");
    sandbox.wait_status(&first, "completed");
    let mut watcher = Watcher::subscribe(&sandbox);

    let id = sandbox.detach("SAY watched");
    let mut statuses = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let mut grew = false;
    while statuses.last().map(String::as_str) != Some("completed") {
        let change = watcher.next_change();
        match change["change"].as_str() {
            Some("session") if change["session"]["id"] == id.as_str() => {
                statuses.push(change["session"]["status"].as_str().unwrap().to_owned());
                values.push(change["session"].clone());
            }
            Some("transcript") if change["session_id"] == id.as_str() => grew = true,
            _ => {}
        }
    }
    sandbox.ok(&["rm", &id]);
    let deleted = loop {
        let change = watcher.next_change();
        if change["change"] == "deleted" {
            break change;
        }
    };

    assert_eq!(
        statuses.first().map(String::as_str),
        Some("queued"),
        "{statuses:?}"
    );
    assert!(statuses.contains(&"running".to_owned()), "{statuses:?}");
    // Told by the daemon and read again from the change feed, each value once.
    let mut unique = values.clone();
    unique.dedup();
    assert_eq!(unique.len(), values.len(), "{values:#?}");
    assert!(grew, "the transcript growing is a change");
    assert_eq!(deleted["id"], id.as_str());
    drop(watcher);
    sandbox.assert_nothing_left();
}

#[test]
fn a_watcher_is_told_of_a_change_another_process_makes_to_the_database() {
    let sandbox = Sandbox::new();
    let id = sandbox.detach("SAY made here");
    sandbox.wait_status(&id, "completed");
    let mut watcher = Watcher::subscribe(&sandbox);

    // Another process on the same database (as another daemon would) deletes the
    // session: this daemon did not make the change, only the change feed tells it.
    let other = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    other.block_on(async {
        use lulu_domain::ports::SessionStore as _;
        let store = lulu_adapters_sqlite::SqliteStore::open(
            lulu_adapters_sqlite::StoreOptions::new(&sandbox.db),
        )
        .await
        .expect("the database opens");
        let session_id = id.parse().expect("a session id");
        assert!(store.delete_session(session_id).await.expect("deleted"));
    });

    let change = watcher.next_change();
    assert_eq!(change["change"], "deleted", "{change}");
    assert_eq!(change["id"], id.as_str());
    drop(watcher);
    sandbox.assert_nothing_left();
}
