//! The `list` table: for a terminal, fitted to its width (title and directory shrink
//! first, measured in display columns so wide characters line up); for a pipe, one
//! tab-separated row per session that scripts can `cut`.

use std::collections::HashSet;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

use lulu_domain::ports::SessionSummary;
use lulu_domain::{Session, SessionId};

use super::safe::safe_line;
use super::style::{self, paint, BOLD, DIM};
use super::text::{age, timestamp};

/// Blank columns between two cells.
const GAP: usize = 2;
/// The narrowest a title gets before the table overflows.
const TITLE_MIN: usize = 12;
/// The narrowest a directory gets.
const CWD_MIN: usize = 10;
/// The widest what a session that needs approval asks gets in the status column.
const ASKED_MAX: usize = 40;
/// The narrowest terminal that gets the resumes column.
const RESUMES_MIN_WIDTH: usize = 100;

/// How the table fits: the terminal's width and the home directory to show as `~`.
#[derive(Debug, Clone, Copy)]
pub struct Fit<'a> {
    /// Columns available.
    pub width: usize,
    /// The user's home directory, if known.
    pub home: Option<&'a str>,
}

/// One row's cells, made safe, before fitting.
struct Row {
    id: String,
    status: String,
    title: String,
    cwd: String,
    resumes: String,
    cost: String,
    updated: String,
}

/// The table for a terminal: a header, one session per line, newest first (the
/// caller's order). Live rows show how long they have been in their state instead of a
/// cost; the resumes column shows only when some session was resumed (and the terminal
/// has 100 columns or more).
pub fn session_table(
    sessions: &[Session],
    unreachable: &HashSet<SessionId>,
    now: DateTime<Utc>,
    fit: Fit<'_>,
) -> String {
    let rows: Vec<Row> = sessions
        .iter()
        .map(|session| Row {
            id: session.id.short(),
            status: status_cell(session, unreachable.contains(&session.id)),
            title: safe_line(session.title.as_str()).into_owned(),
            cwd: home_relative(&safe_line(session.cwd.as_str()), fit.home),
            resumes: session.resume_count.to_string(),
            cost: if session.status.is_live() {
                live_for(session.updated_at, now)
            } else {
                format!("${:.4}", session.totals.cost_usd)
            },
            updated: age(session.updated_at, now),
        })
        .collect();
    // Shown when some session was resumed and there is room (`show` has it too).
    let with_resumes =
        fit.width >= RESUMES_MIN_WIDTH && sessions.iter().any(|session| session.resume_count > 0);
    let header = Row {
        id: "ID".into(),
        status: "STATUS".into(),
        title: "TITLE".into(),
        cwd: "CWD".into(),
        resumes: "RESUMES".into(),
        cost: "COST".into(),
        updated: "UPDATED".into(),
    };
    let widest = |cell: fn(&Row) -> &str| {
        rows.iter()
            .chain([&header])
            .map(|row| cell(row).width())
            .max()
            .unwrap_or(0)
    };
    let fixed = [
        widest(|row| &row.id),
        widest(|row| &row.status),
        if with_resumes {
            widest(|row| &row.resumes)
        } else {
            0
        },
        widest(|row| &row.cost),
        widest(|row| &row.updated),
    ];
    let gaps = GAP * if with_resumes { 6 } else { 5 };
    let room = fit.width.saturating_sub(fixed.iter().sum::<usize>() + gaps);
    let (title_width, cwd_width) = share(room, widest(|row| &row.title), widest(|row| &row.cwd));
    let widths = [
        fixed[0],
        fixed[1],
        title_width,
        cwd_width,
        fixed[2],
        fixed[3],
        fixed[4],
    ];
    let mut out = String::new();
    push_line(&mut out, &header, &widths, with_resumes, &|_, cell| {
        paint(BOLD, cell)
    });
    for (row, session) in rows.iter().zip(sessions) {
        push_line(
            &mut out,
            row,
            &widths,
            with_resumes,
            &|column, cell| match column {
                1 => paint(style::status(session.status), cell),
                5 if session.status.is_live() => paint(DIM, cell),
                _ => cell.to_owned(),
            },
        );
    }
    out
}

/// The status as people read it (`needs approval`), with what a session that needs
/// approval asks (`needs approval: Bash: touch notes.md (+1 more)`).
fn status_cell(session: &Session, unreachable: bool) -> String {
    let mut cell = session.status.label();
    if let Some(request) = session.pending_approvals.first() {
        let asked = fit_end(&safe_line(&request.summary()), ASKED_MAX);
        let _ = write!(cell, ": {asked}");
        if session.pending_approvals.len() > 1 {
            let _ = write!(cell, " (+{} more)", session.pending_approvals.len() - 1);
        }
    }
    if unreachable {
        cell.push_str(" (owner unreachable)");
    }
    cell
}

/// Splits `room` columns between a title wanting `title` and a directory wanting `cwd`:
/// both whole if they fit, else the directory gets up to two fifths, the title the rest.
fn share(room: usize, title: usize, cwd: usize) -> (usize, usize) {
    if title + cwd <= room {
        return (title, cwd);
    }
    let cwd = cwd.min((room * 2 / 5).max(CWD_MIN));
    let title = title.min(room.saturating_sub(cwd).max(TITLE_MIN));
    (title, cwd)
}

fn push_line(
    out: &mut String,
    row: &Row,
    widths: &[usize; 7],
    with_resumes: bool,
    paint_cell: &dyn Fn(usize, &str) -> String,
) {
    let cells = [
        row.id.as_str(),
        &row.status,
        &row.title,
        &row.cwd,
        &row.resumes,
        &row.cost,
        &row.updated,
    ];
    let mut line = String::new();
    for (column, (cell, &width)) in cells.iter().zip(widths).enumerate() {
        if column == 4 && !with_resumes {
            continue;
        }
        let fitted = match column {
            2 => fit_end(cell, width),
            3 => fit_path(cell, width),
            _ => (*cell).to_owned(),
        };
        let padding = width.saturating_sub(fitted.width());
        line.push_str(&paint_cell(column, &fitted));
        if column + 1 < cells.len() {
            line.push_str(&" ".repeat(padding + GAP));
        }
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

/// `text` cut to `width` display columns, ending in `…` when cut.
fn fit_end(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let wide = c.width().unwrap_or(0);
        if used + wide + 1 > width {
            break;
        }
        used += wide;
        out.push(c);
    }
    out.push('…');
    out
}

/// A path cut to `width` columns from the left by whole components, keeping at least
/// its last one (`…/crates/adapters-cli`); a last component too long itself is cut at its
/// end.
fn fit_path(path: &str, width: usize) -> String {
    if path.width() <= width {
        return path.to_owned();
    }
    let mut kept = String::new();
    for component in path.rsplit('/') {
        let candidate = if kept.is_empty() {
            component.to_owned()
        } else {
            format!("{component}/{kept}")
        };
        if candidate.width() + "…/".width() > width {
            break;
        }
        kept = candidate;
    }
    if kept.is_empty() {
        return fit_end(path.rsplit('/').next().unwrap_or(path), width);
    }
    format!("…/{kept}")
}

/// `path` with the home directory shown as `~`.
pub fn home_relative(path: &str, home: Option<&str>) -> String {
    match home.filter(|home| !home.is_empty() && *home != "/") {
        Some(home) if path == home => "~".to_owned(),
        Some(home) => match path.strip_prefix(home) {
            Some(rest) if rest.starts_with('/') => format!("~{rest}"),
            _ => path.to_owned(),
        },
        None => path.to_owned(),
    }
}

/// `for 12 s`: how long a live session has been in its state.
fn live_for(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - since).num_seconds().max(0);
    match seconds {
        0..=59 => format!("for {seconds} s"),
        60..=3_599 => format!("for {} min", seconds / 60),
        _ => format!("for {} h", seconds / 3_600),
    }
}

/// The rows for a pipe: no header, one session per line, tab-separated, nothing cut:
/// id, status, title, directory, resumes, cost, updated (RFC 3339).
pub fn session_rows(sessions: &[Session]) -> String {
    let mut out = String::new();
    for session in sessions {
        let cells = [
            session.id.to_string(),
            session.status.as_str().to_owned(),
            safe_line(session.title.as_str()).into_owned(),
            safe_line(session.cwd.as_str()).into_owned(),
            session.resume_count.to_string(),
            format!("{:.4}", session.totals.cost_usd),
            timestamp(session.updated_at),
        ];
        out.push_str(&cells.join("\t"));
        out.push('\n');
    }
    out
}

/// The line under the table: how many are shown of how many, how many run, total cost.
pub fn list_footer(shown: usize, summary: &SessionSummary, filtered: bool) -> String {
    let total = usize::try_from(summary.sessions).unwrap_or(usize::MAX);
    let mut text = if shown < total {
        format!(
            "{shown} of {total} sessions · {} more (--all shows all)",
            total - shown
        )
    } else if total == 1 {
        "1 session".to_owned()
    } else {
        format!("{total} sessions")
    };
    if summary.live > 0 {
        let _ = write!(text, " · {} live", summary.live);
    }
    let _ = write!(text, " · ${:.2} in all", summary.cost_usd);
    if filtered {
        text.push_str(" (filtered)");
    }
    paint(DIM, &text)
}

/// What an empty listing says: nothing yet, or nothing matched the filter.
pub fn nothing_listed(filtered: bool) -> String {
    if filtered {
        paint(DIM, "no session matches the filter")
    } else {
        paint(DIM, "no sessions yet: start one with `lulu run PROMPT`")
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
