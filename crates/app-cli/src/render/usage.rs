//! `lulu stats`: usage summed by group, as a table for people and as JSON for scripts.

use std::fmt::Write as _;

use serde::Serialize;
use unicode_width::UnicodeWidthStr as _;

use lulu_domain::ports::UsageRow;

use super::safe::safe_line;
use super::style::{paint, BOLD};
use super::table::home_relative;
use crate::args::StatsBy;

/// The numeric columns, after the group's.
const NUMBERS: [&str; 5] = ["SESSIONS", "TURNS", "INPUT TOKENS", "OUTPUT TOKENS", "COST"];

/// The table: one line per group (when grouped), then the total, numbers right-aligned.
pub fn usage_table(rows: &[UsageRow], by: Option<StatsBy>, home: Option<&str>) -> String {
    let total = total(rows);
    let mut lines: Vec<[String; 6]> = Vec::new();
    if by.is_some() {
        lines.extend(
            rows.iter()
                .map(|row| cells(group_label(&row.key, by, home), row)),
        );
    }
    lines.push(cells("total".to_owned(), &total));
    let header: Vec<String> = std::iter::once(group_header(by))
        .chain(NUMBERS)
        .map(str::to_owned)
        .collect();
    let mut widths = [0_usize; 6];
    for line in std::iter::once(&header[..]).chain(lines.iter().map(|line| &line[..])) {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.width());
        }
    }
    let mut out = paint(BOLD, &line_of(&header, &widths));
    out.push('\n');
    let last = lines.len() - 1;
    for (index, line) in lines.iter().enumerate() {
        let text = line_of(line, &widths);
        let text = if index == last && by.is_some() {
            paint(BOLD, &text)
        } else {
            text
        };
        let _ = writeln!(out, "{text}");
    }
    out
}

/// The sum of `rows`.
pub fn total(rows: &[UsageRow]) -> UsageRow {
    rows.iter().fold(UsageRow::default(), |mut total, row| {
        total.merge(row);
        total
    })
}

/// `stats --json`: the grouping, each group and the total.
#[derive(Debug, Serialize)]
pub struct UsageJson<'a> {
    /// `day`, `cwd`, `model`, or null when not grouped.
    pub by: Option<&'static str>,
    /// The groups, in the table's order (empty when not grouped).
    pub groups: Vec<UsageGroupJson<'a>>,
    /// Everything covered.
    pub total: UsageSumsJson,
}

/// One group and its sums.
#[derive(Debug, Serialize)]
pub struct UsageGroupJson<'a> {
    /// A day (`2026-12-01`), a directory, a model (null: the agent's default).
    pub key: Option<&'a str>,
    /// Its sums.
    #[serde(flatten)]
    pub sums: UsageSumsJson,
}

/// Sums over some sessions.
#[derive(Debug, Serialize)]
pub struct UsageSumsJson {
    /// Sessions.
    pub sessions: u64,
    /// Agent turns (named as in `list --json`).
    pub num_turns: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cost in US dollars.
    pub cost_usd: f64,
}

impl<'a> UsageJson<'a> {
    /// The JSON of `rows` grouped `by`; `total` is their sum.
    pub fn of(rows: &'a [UsageRow], by: Option<StatsBy>, total: &UsageRow) -> Self {
        let groups = if by.is_some() {
            rows.iter()
                .map(|row| UsageGroupJson {
                    key: (!row.key.is_empty()).then_some(row.key.as_str()),
                    sums: UsageSumsJson::of(row),
                })
                .collect()
        } else {
            Vec::new()
        };
        Self {
            by: by.map(|by| match by {
                StatsBy::Day => "day",
                StatsBy::Cwd => "cwd",
                StatsBy::Model => "model",
            }),
            groups,
            total: UsageSumsJson::of(total),
        }
    }
}

impl UsageSumsJson {
    fn of(row: &UsageRow) -> Self {
        Self {
            sessions: row.sessions,
            num_turns: row.turns,
            input_tokens: row.input_tokens,
            output_tokens: row.output_tokens,
            cost_usd: row.cost_usd,
        }
    }
}

fn group_header(by: Option<StatsBy>) -> &'static str {
    match by {
        None => "",
        Some(StatsBy::Day) => "DAY",
        Some(StatsBy::Cwd) => "DIRECTORY",
        Some(StatsBy::Model) => "MODEL",
    }
}

/// A group's key as shown: a directory with `~`, the default model named, stored text
/// with its control characters made visible.
fn group_label(key: &str, by: Option<StatsBy>, home: Option<&str>) -> String {
    match by {
        Some(StatsBy::Cwd) => safe_line(&home_relative(key, home)).into_owned(),
        Some(StatsBy::Model) if key.is_empty() => "(default)".to_owned(),
        _ => safe_line(key).into_owned(),
    }
}

fn cells(label: String, row: &UsageRow) -> [String; 6] {
    [
        label,
        thousands(row.sessions),
        thousands(row.turns),
        thousands(row.input_tokens),
        thousands(row.output_tokens),
        format!("${:.4}", row.cost_usd),
    ]
}

/// The first cell left-aligned, the numbers right-aligned, two spaces apart.
fn line_of(cells: &[String], widths: &[usize; 6]) -> String {
    let mut out = String::new();
    for (index, (cell, width)) in cells.iter().zip(widths).enumerate() {
        let pad = " ".repeat(width - cell.width());
        if index == 0 {
            out.push_str(cell);
            out.push_str(&pad);
        } else {
            out.push_str("  ");
            out.push_str(&pad);
            out.push_str(cell);
        }
    }
    out.trim_end().to_owned()
}

/// `1234567` as `1,234,567`.
fn thousands(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, sessions: u64, cost_usd: f64) -> UsageRow {
        UsageRow {
            key: key.to_owned(),
            sessions,
            turns: sessions * 3,
            input_tokens: sessions * 12_345,
            output_tokens: sessions * 678,
            cost_usd,
        }
    }

    #[test]
    fn the_stats_table_by_directory_with_wide_characters() {
        let rows = [
            row("/home/ana/src/parser", 12, 1.5),
            row("/home/ana/src/日本語", 3, 0.25),
            row("/srv/app\u{1b}[31m", 1, 0.0),
        ];
        insta::assert_snapshot!(usage_table(&rows, Some(StatsBy::Cwd), Some("/home/ana")));
    }

    #[test]
    fn the_stats_table_in_all_and_by_model() {
        let rows = [row("claude-opus", 2, 0.5), row("", 1_000, 12.0)];
        let all = usage_table(&rows, None, None);
        let by_model = usage_table(&rows, Some(StatsBy::Model), None);
        insta::assert_snapshot!(format!("{all}\n{by_model}"));
    }

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
