//! The database file deleted or replaced under a running owner: the owner notices, says so
//! in its log, stops its agent and exits, instead of writing on into a file nobody sees.

use std::path::Path;

use crate::harness::{exists, parent_of, reap_orphans, wait_until, Sandbox};

/// The database and its WAL companions, by name.
const FILES: [&str; 3] = ["lulu.db", "lulu.db-wal", "lulu.db-shm"];

/// Starts a slow detached run; returns its id, its agent's pid and its owner's pid.
fn running_owner(sandbox: &Sandbox) -> (String, i32, i32) {
    let id = sandbox.detach("SLOW 600");
    let agent = sandbox.wait_for_agent(&id);
    let owner = parent_of(agent).expect("the agent's parent is its owner");
    (id, agent, owner)
}

/// Waits until the owner has exited and its agent is gone; asserts the log says why.
fn assert_owner_noticed_and_stopped(sandbox: &Sandbox, owner: i32, agent: i32) {
    wait_until("the owner exits", || {
        reap_orphans();
        !exists(owner)
    });
    wait_until("the agent is gone", || {
        reap_orphans();
        !exists(agent)
    });
    let log = sandbox.owners_log_tail();
    let said = format!(
        "the database file {} was deleted or replaced while Lulu was using it",
        sandbox.db.display()
    );
    assert!(
        log.lines()
            .any(|line| line.contains("ERROR") && line.contains(&said)),
        "the owner's log says so at error level:\n{log}"
    );
    sandbox.assert_nothing_left();
}

fn move_files(dir: &Path, prefix: &str) {
    for name in FILES {
        let from = dir.join(name);
        if from.exists() {
            std::fs::rename(&from, dir.join(format!("{prefix}{name}"))).unwrap();
        }
    }
}

#[test]
fn deleting_the_database_under_a_running_owner_stops_its_agent_and_says_so() {
    let sandbox = Sandbox::new();
    let (_, agent, owner) = running_owner(&sandbox);
    let dir = sandbox.db.parent().unwrap();

    for name in FILES {
        let _ = std::fs::remove_file(dir.join(name));
    }
    let listed = sandbox.ok(&["list", "--json"]);

    assert_eq!(listed.trim(), "[]", "a new, empty database took its place");
    assert_owner_noticed_and_stopped(&sandbox, owner, agent);
}

#[test]
fn replacing_the_database_under_a_running_owner_stops_its_agent_and_leaves_the_new_file_alone() {
    let sandbox = Sandbox::new();
    let (id, agent, owner) = running_owner(&sandbox);
    let dir = sandbox.db.parent().unwrap().to_owned();

    move_files(&dir, "old-");
    sandbox.ok(&["list"]);

    assert_owner_noticed_and_stopped(&sandbox, owner, agent);
    assert_eq!(
        sandbox.ok(&["list", "--json"]).trim(),
        "[]",
        "the owner wrote nothing into the new file"
    );
    // Its last words went to the file it had open, now under the old name.
    let old = dir.join("old-lulu.db");
    let shown = sandbox.ok(&["--db", old.to_str().unwrap(), "show", &id, "--json"]);
    let session: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(session["status"], "interrupted", "{session:#}");
}

#[test]
fn a_foreground_run_whose_database_is_deleted_stops_and_tells_the_user_why() {
    let sandbox = Sandbox::new();
    let run = sandbox.spawn(&["run", "SLOW 600"]);
    wait_until("the run is running", || {
        sandbox
            .ok(&["list", "--json"])
            .contains(r#""status": "running""#)
    });
    let dir = sandbox.db.parent().unwrap();

    for name in FILES {
        let _ = std::fs::remove_file(dir.join(name));
    }
    let output = sandbox.finish(run);

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "lulu: error: storage failed: the database file {} was deleted or replaced",
            sandbox.db.display()
        )),
        "{stderr}"
    );
    sandbox.assert_nothing_left();
}
