//! `lulu doctor`: the full check of the database, as text for people or JSON for scripts.
//! Exits 1 when the file is damaged or holds rows whose parent is gone.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use serde::Serialize;

use lulu_runtime::doctor::{DatabaseReport, OrphanedRows, RowCounts};

use super::Context;
use crate::args::DoctorArgs;
use crate::exit;
use crate::render::style::{paint, ERROR, GOOD};

/// `lulu doctor`.
pub async fn doctor(context: &Context, args: &DoctorArgs) -> anyhow::Result<ExitCode> {
    let report = lulu_runtime::doctor(&context.config).await?;
    let mut out = anstream::stdout().lock();
    if args.json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&ReportJson::of(&report))?
        )?;
    } else {
        write!(out, "{}", report_text(&report))?;
    }
    Ok(ExitCode::from(if report.is_sound() {
        exit::OK
    } else {
        exit::FAILED
    }))
}

/// The report in `doctor --json`. Its keys are an interface.
#[derive(Debug, Serialize)]
struct ReportJson<'a> {
    path: String,
    sound: bool,
    schema_version: u32,
    file_bytes: Option<u64>,
    wal_bytes: u64,
    rows: Option<RowsJson>,
    orphans: Vec<OrphansJson<'a>>,
    problems: &'a [String],
}

/// Row counts in `doctor --json`.
#[derive(Debug, Serialize)]
struct RowsJson {
    sessions: u64,
    runs: u64,
    events: u64,
}

/// One table's orphaned rows in `doctor --json`.
#[derive(Debug, Serialize)]
struct OrphansJson<'a> {
    table: &'a str,
    parent: &'a str,
    rows: u64,
}

impl<'a> ReportJson<'a> {
    fn of(report: &'a DatabaseReport) -> Self {
        Self {
            path: report.path.display().to_string(),
            sound: report.is_sound(),
            schema_version: report.schema_version,
            file_bytes: report.file_bytes,
            wal_bytes: report.wal_bytes,
            rows: report.rows.map(|rows| RowsJson {
                sessions: rows.sessions,
                runs: rows.runs,
                events: rows.events,
            }),
            orphans: report
                .orphans
                .iter()
                .map(|orphans| OrphansJson {
                    table: &orphans.table,
                    parent: &orphans.parent,
                    rows: orphans.rows,
                })
                .collect(),
            problems: &report.problems,
        }
    }
}

/// The report for people: one line per finding, SQLite's problems indented below.
fn report_text(report: &DatabaseReport) -> String {
    let mut text = String::new();
    let path = visible(&report.path.display().to_string());
    let _ = writeln!(text, "database   {path}");
    let _ = writeln!(text, "schema     version {}", report.schema_version);
    let file = report.file_bytes.map_or_else(|| "unknown".to_owned(), size);
    let _ = writeln!(text, "size       {file}, WAL {}", size(report.wal_bytes));
    let _ = writeln!(text, "rows       {}", rows_text(report.rows));
    let _ = writeln!(text, "orphans    {}", orphans_text(&report.orphans));
    if report.problems.is_empty() {
        let _ = writeln!(text, "integrity  {}", paint(GOOD, "ok"));
    } else {
        let _ = writeln!(text, "integrity  {}", paint(ERROR, "damaged"));
        for problem in &report.problems {
            let _ = writeln!(text, "  {}", visible(problem));
        }
    }
    if !report.is_sound() {
        let _ = writeln!(
            text,
            "{}",
            paint(
                ERROR,
                "the database needs attention: restore a backup, or point --db / LULU_DB at another file (lulu doctor changed nothing)"
            )
        );
    }
    text
}

fn rows_text(rows: Option<RowCounts>) -> String {
    rows.map_or_else(
        || "not counted".to_owned(),
        |rows| {
            format!(
                "{} sessions, {} runs, {} events",
                rows.sessions, rows.runs, rows.events
            )
        },
    )
}

fn orphans_text(orphans: &[OrphanedRows]) -> String {
    if orphans.is_empty() {
        return "none".to_owned();
    }
    orphans
        .iter()
        .map(|orphans| {
            format!(
                "{} rows of {} point at a missing row of {}",
                orphans.rows,
                visible(&orphans.table),
                visible(&orphans.parent)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A byte count for people: `512 B`, `4.0 KiB`, `1.6 GiB`.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    #[allow(clippy::cast_precision_loss)] // one decimal is all that is shown
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `text` with control characters escaped: file names and SQLite's messages (which quote
/// table names from the file) never steer the terminal.
fn visible(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn plain(text: &str) -> String {
        anstream::adapter::strip_str(text).to_string()
    }

    fn sound() -> DatabaseReport {
        DatabaseReport {
            path: PathBuf::from("/data/lulu.db"),
            schema_version: 3,
            problems: Vec::new(),
            file_bytes: Some(1_700_000_000),
            wal_bytes: 4_120_032,
            rows: Some(RowCounts {
                sessions: 100_000,
                runs: 130_000,
                events: 10_000_000,
            }),
            orphans: Vec::new(),
        }
    }

    fn damaged() -> DatabaseReport {
        DatabaseReport {
            problems: vec![
                "*** in database main ***".into(),
                "Tree 5 page 9: btreeInitPage() returns error code 11\u{1b}[2J".into(),
            ],
            wal_bytes: 0,
            rows: None,
            orphans: vec![OrphanedRows {
                table: "runs".into(),
                parent: "sessions".into(),
                rows: 2,
            }],
            ..sound()
        }
    }

    #[test]
    fn a_sound_database_reads_as_one_line_per_finding() {
        insta::assert_snapshot!(plain(&report_text(&sound())));
    }

    #[test]
    fn a_damaged_database_lists_the_problems_without_control_characters_and_what_to_do() {
        insta::assert_snapshot!(plain(&report_text(&damaged())));
    }

    #[test]
    fn the_json_report_keeps_its_keys() {
        insta::assert_snapshot!(serde_json::to_string_pretty(&ReportJson::of(&damaged())).unwrap());
    }

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(4096), "4.0 KiB");
        assert_eq!(size(1_700_000_000), "1.6 GiB");
    }
}
