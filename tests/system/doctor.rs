//! `lulu doctor`: the full check on demand, and damage met by any other command named as
//! damage with the way to the doctor.

use std::path::Path;

use crate::harness::Sandbox;

/// Scribbles over the root page of `table` (no process has the file open).
fn damage_root_page(db: &Path, table: &str) {
    let (page_size, root): (usize, usize) = rusqlite::Connection::open(db)
        .unwrap()
        .query_row(
            "SELECT (SELECT page_size FROM pragma_page_size()), \
                    (SELECT rootpage FROM sqlite_schema WHERE name = ?1)",
            [table],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    let mut bytes = std::fs::read(db).unwrap();
    bytes[(root - 1) * page_size..root * page_size].fill(0xA5);
    std::fs::write(db, &bytes).unwrap();
}

#[test]
fn the_doctor_reports_a_sound_database_and_its_rows() {
    let sandbox = Sandbox::new();
    sandbox.ok(&["run", "SAY hello"]);

    let text = sandbox.ok(&["doctor"]);
    let json: serde_json::Value = serde_json::from_str(&sandbox.ok(&["doctor", "--json"])).unwrap();

    assert!(text.contains("integrity  ok"), "{text}");
    assert!(text.contains("rows       1 sessions, 1 runs, "), "{text}");
    assert_eq!(json["sound"], true, "{json:#}");
    assert_eq!(json["rows"]["sessions"], 1, "{json:#}");
    assert_eq!(json["orphans"], serde_json::json!([]), "{json:#}");
}

#[test]
fn damage_is_named_by_any_command_and_reported_by_the_doctor_with_a_failing_exit() {
    let sandbox = Sandbox::new();
    sandbox.ok(&["run", "SAY hello"]);
    sandbox.assert_nothing_left();
    damage_root_page(&sandbox.db, "sessions");

    let listed = sandbox.run(&["list"]);
    let doctor = sandbox.run(&["doctor"]);

    let stderr = String::from_utf8_lossy(&listed.stderr);
    assert_eq!(listed.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("the database {} is damaged", sandbox.db.display())),
        "{stderr}"
    );
    assert!(stderr.contains("`lulu doctor`"), "{stderr}");
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert_eq!(doctor.status.code(), Some(1), "{report}");
    assert!(report.contains("integrity  damaged"), "{report}");
}
