//! The one results table: measure, baseline, Lulu, ratio, goal, verdict.

use std::fmt::Write as _;

/// Whether a goal held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The goal held.
    Pass,
    /// The goal did not hold.
    Fail,
    /// Not measured, with the reason (never a pass).
    NotRun(String),
    /// A number reported for context, with no goal to hold.
    Context,
}

impl Verdict {
    /// Pass when `held`, else Fail.
    pub fn from_goal(held: bool) -> Self {
        if held {
            Self::Pass
        } else {
            Self::Fail
        }
    }

    fn cell(&self) -> String {
        match self {
            Self::Pass => "PASS".to_owned(),
            Self::Fail => "FAIL".to_owned(),
            Self::NotRun(reason) => format!("not run: {reason}"),
            Self::Context => "(context)".to_owned(),
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// What is measured.
    pub measure: String,
    /// The baseline's value (and what the baseline is).
    pub baseline: String,
    /// Lulu's value.
    pub lulu: String,
    /// Lulu against the baseline (or `-` where there is no baseline).
    pub ratio: String,
    /// The goal.
    pub goal: String,
    /// Whether it held.
    pub verdict: Verdict,
}

impl Row {
    /// A row whose measurement could not be made, with the reason.
    pub fn not_run(measure: &str, goal: &str, reason: &str) -> Self {
        Self {
            measure: measure.to_owned(),
            baseline: "-".to_owned(),
            lulu: "-".to_owned(),
            ratio: "-".to_owned(),
            goal: goal.to_owned(),
            verdict: Verdict::NotRun(reason.to_owned()),
        }
    }
}

/// Milliseconds, to a precision that suits their size.
pub fn ms(value: f64) -> String {
    if value.is_nan() {
        "-".to_owned()
    } else if value < 10.0 {
        format!("{value:.2} ms")
    } else {
        format!("{value:.1} ms")
    }
}

/// Mebibytes.
pub fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
}

/// A ratio such as `1.03×`.
pub fn ratio(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.2}×")
    } else {
        "-".to_owned()
    }
}

/// A Markdown table (padded so it also reads well on a terminal). `|` in a cell is
/// escaped.
pub fn render(rows: &[Row]) -> String {
    const HEADER: [&str; 6] = ["measure", "baseline", "Lulu", "ratio", "goal", "result"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|row| {
            [
                &row.measure,
                &row.baseline,
                &row.lulu,
                &row.ratio,
                &row.goal,
                &row.verdict.cell(),
            ]
            .map(|cell| cell.replace('|', "\\|"))
        })
        .collect();
    let mut widths = HEADER.map(|title| title.chars().count());
    for line in &cells {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    push_line(&mut out, &HEADER.map(str::to_owned), &widths);
    push_line(&mut out, &widths.map(|width| "-".repeat(width)), &widths);
    for line in &cells {
        push_line(&mut out, line, &widths);
    }
    out
}

fn push_line(out: &mut String, cells: &[String; 6], widths: &[usize; 6]) {
    out.push('|');
    for (cell, width) in cells.iter().zip(widths) {
        let pad = width - cell.chars().count();
        let _ = write!(out, " {cell}{} |", " ".repeat(pad));
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lines_up_and_says_what_was_not_run() {
        let rows = [
            Row {
                measure: "`lulu run` to exit, fake-claude (median of 20)".to_owned(),
                baseline: ms(8.123),
                lulu: ms(15.61),
                ratio: "+7.49 ms".to_owned(),
                goal: "<= +10 ms".to_owned(),
                verdict: Verdict::from_goal(true),
            },
            Row {
                measure: "interrupt | p99".to_owned(),
                baseline: "-".to_owned(),
                lulu: ms(61.0),
                ratio: ratio(f64::NAN),
                goal: "<= 50 ms".to_owned(),
                verdict: Verdict::from_goal(false),
            },
            Row::not_run(
                "desktop app idle RSS",
                "<= 150 MB",
                "the app is not built yet",
            ),
        ];
        insta::assert_snapshot!(render(&rows));
    }

    #[test]
    fn units_read_naturally() {
        assert_eq!(ms(4.567), "4.57 ms");
        assert_eq!(ms(123.456), "123.5 ms");
        assert_eq!(ms(f64::NAN), "-");
        assert_eq!(mib(3.0 * 1024.0 * 1024.0), "3.0 MiB");
        assert_eq!(ratio(1.049), "1.05×");
    }
}
