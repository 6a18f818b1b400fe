//! The options that choose sessions (`--status`, `--cwd`, `--since`), shared by `list`
//! and `stats`, and what they mean for the session store.

use std::ffi::OsStr;
use std::path::PathBuf;

use anyhow::Context as _;
use chrono::{DateTime, Local, NaiveDate, TimeDelta, Utc};
use clap::builder::{PossibleValue, StringValueParser, TypedValueParser};
use clap::Args;

use lulu_domain::ports::SessionFilter;
use lulu_domain::SessionStatus;

/// Which sessions.
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Only sessions in these statuses (a comma list: `completed,failed`).
    #[arg(long, value_name = "STATUS", value_delimiter = ',', value_parser = StatusParser)]
    pub status: Vec<SessionStatus>,
    /// Only sessions working in this directory or below it.
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub cwd: Option<PathBuf>,
    /// Only sessions active since then: a time ago (`30m`, `12h`, `7d`, `2w`) or a date
    /// (`2026-12-01`, from local midnight).
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    pub since: Option<Since>,
}

impl FilterArgs {
    /// Whether any filter was given.
    pub fn is_given(&self) -> bool {
        !self.status.is_empty() || self.cwd.is_some() || self.since.is_some()
    }

    /// The filter for the store, with times counted back from `now`.
    pub fn to_filter(&self, now: DateTime<Utc>) -> anyhow::Result<SessionFilter> {
        let cwd = match &self.cwd {
            Some(dir) => {
                let absolute = std::path::absolute(dir)
                    .with_context(|| format!("cannot make {} absolute", dir.display()))?;
                let text = absolute.to_str().with_context(|| {
                    format!("the directory {} is not valid UTF-8", absolute.display())
                })?;
                Some(text.to_owned())
            }
            None => None,
        };
        Ok(SessionFilter {
            statuses: self.status.clone(),
            cwd,
            since: self.since.map(|since| since.instant(now)),
        })
    }
}

/// Parses a status with the store's words and offers them to completion.
#[derive(Debug, Clone, Copy)]
struct StatusParser;

impl TypedValueParser for StatusParser {
    type Value = SessionStatus;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<SessionStatus, clap::Error> {
        StringValueParser::new()
            .try_map(|text| text.parse::<SessionStatus>())
            .parse_ref(command, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            SessionStatus::ALL
                .into_iter()
                .map(|status| PossibleValue::new(status.as_str())),
        ))
    }
}

/// Where `--since` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// This long before now.
    Ago(TimeDelta),
    /// Local midnight at the start of this day.
    Day(NaiveDate),
}

impl Since {
    /// The instant it names, counted back from `now`.
    pub fn instant(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::Ago(span) => now - span,
            Self::Day(day) => day
                .and_hms_opt(0, 0, 0)
                .and_then(|midnight| midnight.and_local_timezone(Local).earliest())
                .map_or_else(
                    || day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
                    |at| at.with_timezone(&Utc),
                ),
        }
    }
}

/// `30m`, `12h`, `7d`, `2w` or `2026-12-01`.
fn parse_since(text: &str) -> Result<Since, String> {
    let refuse = || {
        format!(
            "`{text}` is neither a time ago (`30m`, `12h`, `7d`, `2w`) nor a date (`2026-12-01`)"
        )
    };
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(Since::Day(day));
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(refuse)?;
    let (count, unit) = text.split_at(split);
    let count: i64 = count.parse().map_err(|_| refuse())?;
    let span = match unit {
        "s" => TimeDelta::try_seconds(count),
        "m" | "min" => TimeDelta::try_minutes(count),
        "h" => TimeDelta::try_hours(count),
        "d" => TimeDelta::try_days(count),
        "w" => TimeDelta::try_weeks(count),
        _ => None,
    };
    span.map(Since::Ago).ok_or_else(refuse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_time_ago_or_a_date() {
        assert_eq!(parse_since("7d"), Ok(Since::Ago(TimeDelta::days(7))));
        assert_eq!(parse_since("12h"), Ok(Since::Ago(TimeDelta::hours(12))));
        assert_eq!(parse_since("30m"), Ok(Since::Ago(TimeDelta::minutes(30))));
        assert_eq!(parse_since("2w"), Ok(Since::Ago(TimeDelta::weeks(2))));
        assert_eq!(
            parse_since("2026-12-01"),
            Ok(Since::Day(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()))
        );
        for bad in ["yesterday", "7", "d", "7y", "-7d", "2026-13-01"] {
            let error = parse_since(bad).unwrap_err();
            assert!(error.contains(&format!("`{bad}`")), "{error}");
        }
    }

    #[test]
    fn a_time_ago_counts_back_from_now() {
        let now = DateTime::parse_from_rfc3339("2026-12-08T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            Since::Ago(TimeDelta::days(7)).instant(now).to_rfc3339(),
            "2026-12-01T12:00:00+00:00"
        );
    }
}
