//! The `list` table at 80 and 120 columns, with wide characters, and its pipe form.

use std::collections::HashSet;

use chrono::Duration;

use lulu_domain::ports::SessionSummary;
use lulu_domain::testing::{epoch, sample_session};
use lulu_domain::{Session, SessionStatus, SessionTitle, WorkingDir};

use super::*;

fn plain(text: &str) -> String {
    anstream::adapter::strip_str(text).to_string()
}

/// Sessions with long, wide and plain titles and directories, newest first.
fn sessions() -> Vec<Session> {
    let rows = [
        (
            SessionStatus::Running,
            "Fix the flaky parser test that fails on CI every other run",
            "/home/dev/src/lulu/crates/adapters-cli",
            0,
        ),
        (
            SessionStatus::Completed,
            "日本語のタイトル: パーサーを直す",
            "/home/dev/src/日本語プロジェクト",
            2,
        ),
        (
            SessionStatus::Failed,
            "🎉 ship the release notes 🎉",
            "/srv/app",
            0,
        ),
        (SessionStatus::Interrupted, "short", "/home/dev", 1),
        (
            SessionStatus::Queued,
            "Refactor the whole storage layer into smaller modules please",
            "/home/dev/work/a-very-long-directory-name-that-goes-on-and-on",
            0,
        ),
    ];
    rows.into_iter()
        .zip(1..)
        .map(|((status, title, cwd, resumes), n)| {
            let mut session = sample_session(n);
            session.status = status;
            session.title = SessionTitle::parse(title).unwrap();
            session.cwd = WorkingDir::parse(cwd).unwrap();
            session.resume_count = resumes;
            session.updated_at = epoch() + Duration::seconds(2_000 - i64::from(n) * 300);
            session
        })
        .collect()
}

fn table(width: usize) -> String {
    let now = epoch() + Duration::seconds(2_100);
    let fit = Fit {
        width,
        home: Some("/home/dev"),
    };
    plain(&session_table(&sessions(), &HashSet::new(), now, fit))
}

#[test]
fn list_at_80_columns() {
    let table = table(80);
    for line in table.lines() {
        assert!(line.width() <= 80, "{line:?} is {} wide", line.width());
    }
    insta::assert_snapshot!(table);
}

#[test]
fn list_at_120_columns() {
    let table = table(120);
    for line in table.lines() {
        assert!(line.width() <= 120, "{line:?} is {} wide", line.width());
    }
    insta::assert_snapshot!(table);
}

#[test]
fn columns_line_up_in_display_columns_with_wide_characters() {
    let table = table(80);
    let starts: HashSet<usize> = table
        .lines()
        .map(|line| {
            let status = line.find("STATUS").or_else(|| {
                ["running", "completed", "failed", "interrupted", "queued"]
                    .iter()
                    .find_map(|word| line.find(word))
            });
            line[..status.unwrap()].width()
        })
        .collect();
    assert_eq!(starts.len(), 1, "{table}");
    let cost_starts: HashSet<usize> = table
        .lines()
        .skip(1)
        .map(|line| {
            let at = line.find('$').or_else(|| line.find("for ")).unwrap();
            line[..at].width()
        })
        .collect();
    assert_eq!(cost_starts.len(), 1, "the cost column lines up:\n{table}");
}

#[test]
fn the_resumes_column_shows_only_when_a_session_was_resumed() {
    let mut fresh = sessions();
    for session in &mut fresh {
        session.resume_count = 0;
    }
    let fit = Fit {
        width: 200,
        home: None,
    };
    let table = plain(&session_table(&fresh, &HashSet::new(), epoch(), fit));
    assert!(!table.contains("RESUMES"), "{table}");
    assert!(
        table.contains("/home/dev/src/lulu/crates/adapters-cli"),
        "{table}"
    );
}

#[test]
fn owner_unreachable_is_said_beside_the_status() {
    let sessions = sessions();
    let fit = Fit {
        width: 100,
        home: None,
    };
    let table = plain(&session_table(
        &sessions,
        &HashSet::from([sessions[0].id]),
        epoch(),
        fit,
    ));
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[1].contains("running (owner unreachable)"), "{table}");
    assert!(!lines[2].contains("unreachable"), "{table}");
}

#[test]
fn a_session_that_needs_approval_says_what_it_asks_with_its_escapes_made_visible() {
    let mut sessions = sessions();
    sessions[1].status = SessionStatus::NeedsApproval;
    for (request_id, command) in [("r1", r"touch notes.md\u001b[2J"), ("r2", "rm -rf build")] {
        sessions[1]
            .pending_approvals
            .push(lulu_domain::testing::approval_request(request_id, command));
    }
    let fit = Fit {
        width: 120,
        home: None,
    };
    let table = plain(&session_table(&sessions, &HashSet::new(), epoch(), fit));
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[2].contains("needs approval: Bash: touch notes.md^[[2J (+1 more)"),
        "{table}"
    );
    assert!(!table.contains('\u{1b}'), "{table:?}");
    let rows = session_rows(&sessions);
    assert_eq!(
        rows.lines().nth(1).unwrap().split('\t').nth(1),
        Some("needs_approval"),
        "piped, the status stays one word: {rows}"
    );
}

#[test]
fn piped_rows_are_tab_separated_whole_and_headerless() {
    let rows = session_rows(&sessions());
    let first: Vec<&str> = rows.lines().next().unwrap().split('\t').collect();
    assert_eq!(first.len(), 7);
    assert_eq!(first[0], sessions()[0].id.to_string());
    assert_eq!(
        first[2],
        "Fix the flaky parser test that fails on CI every other run"
    );
    assert_eq!(first[5], "0.0973");
    assert_eq!(rows.lines().count(), 5);
}

#[test]
fn paths_keep_their_last_component() {
    assert_eq!(
        fit_path("~/src/lulu/crates/adapters-cli", 16),
        "…/adapters-cli"
    );
    assert_eq!(fit_path("/a/b", 10), "/a/b");
    assert_eq!(fit_path("/x/a-very-long-last-component", 10), "a-very-lo…");
    assert_eq!(home_relative("/home/dev/src", Some("/home/dev")), "~/src");
    assert_eq!(
        home_relative("/home/developer", Some("/home/dev")),
        "/home/developer"
    );
}

#[test]
fn the_footer_and_an_empty_listing_say_what_is_there() {
    let summary = SessionSummary {
        sessions: 212,
        live: 2,
        cost_usd: 3.214,
    };
    let lines = [
        plain(&list_footer(50, &summary, false)),
        plain(&list_footer(
            3,
            &SessionSummary {
                sessions: 3,
                live: 0,
                cost_usd: 0.5,
            },
            true,
        )),
        plain(&nothing_listed(false)),
        plain(&nothing_listed(true)),
    ];
    insta::assert_snapshot!(lines.join("\n"));
}
