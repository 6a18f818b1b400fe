//! Small text shaping shared by the renderers: cutting, one-lining, durations, ages, money.

use chrono::{DateTime, Datelike as _, TimeZone, Utc};

use super::safe::safe_line;

/// The first line of `text`, cut to `max` characters with an ellipsis (`…` marks dropped
/// lines), its control characters made visible ([`safe_line`]).
pub fn one_line(text: &str, max: usize) -> String {
    let mut lines = text.lines().filter(|line| !line.trim().is_empty());
    let first = lines.next().unwrap_or("").trim();
    let more = lines.next().is_some();
    let mut out = cut(first, max);
    if more && !out.ends_with('…') {
        out.push_str(" …");
    }
    out
}

/// `text` cut to at most `max` characters, the last one an ellipsis when cut, then its
/// control characters made visible ([`safe_line`]; that may make it longer).
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return safe_line(text).into_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    safe_line(&out).into_owned()
}

/// A dollar amount with four decimals.
pub fn money(usd: f64) -> String {
    format!("${usd:.4}")
}

/// A duration in milliseconds for people: `850 ms`, `12.3 s`, `4 min 05 s`.
pub fn duration_ms(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms} ms"),
        1_000..=59_999 => format!("{}.{} s", ms / 1000, (ms % 1000) / 100),
        _ => format!("{} min {:02} s", ms / 60_000, (ms / 1000) % 60),
    }
}

/// How long ago `then` was, seen from `now`: `just now`, `42 s ago`, `5 min ago`, `3 h ago`, `2 d ago`.
pub fn age(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - then).num_seconds().max(0);
    match seconds {
        0..=4 => "just now".to_owned(),
        5..=59 => format!("{seconds} s ago"),
        60..=3_599 => format!("{} min ago", seconds / 60),
        3_600..=86_399 => format!("{} h ago", seconds / 3_600),
        _ => format!("{} d ago", seconds / 86_400),
    }
}

/// How times are written for people: how long ago, and the clock time in `zone` (the
/// local one on a terminal): `4 min ago (14:03)`, `2 d ago (Tue 30 Dec 14:03)`, and for
/// another year `3 d ago (2025-12-30 14:03)`.
pub fn local_time<Tz: TimeZone>(at: DateTime<Utc>, now: DateTime<Utc>, zone: &Tz) -> String {
    let then = at.with_timezone(zone).naive_local();
    let today = now.with_timezone(zone).naive_local();
    let clock = if then.date() == today.date() {
        then.format("%H:%M")
    } else if then.year() == today.year() {
        then.format("%a %-d %b %H:%M")
    } else {
        then.format("%Y-%m-%d %H:%M")
    };
    format!("{} ({clock})", age(at, now))
}

/// An RFC 3339 UTC timestamp, to the second.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_keeps_the_first_line_and_marks_the_rest() {
        assert_eq!(one_line("\n  first  \nsecond", 20), "first …");
        assert_eq!(one_line("abcdefghij", 5), "abcd…");
        assert_eq!(one_line("", 5), "");
    }

    #[test]
    fn durations_and_ages_read_naturally() {
        assert_eq!(duration_ms(850), "850 ms");
        assert_eq!(duration_ms(12_345), "12.3 s");
        assert_eq!(duration_ms(245_000), "4 min 05 s");
        let now = Utc::now();
        assert_eq!(age(now, now), "just now");
        assert_eq!(age(now - chrono::Duration::seconds(42), now), "42 s ago");
        assert_eq!(age(now - chrono::Duration::hours(50), now), "2 d ago");
    }

    #[test]
    fn local_times_say_how_long_ago_and_the_clock_time_there() {
        let now: DateTime<Utc> = "2026-03-04T12:00:00Z".parse().unwrap();
        let zone = chrono::FixedOffset::east_opt(2 * 3600).unwrap();
        let at = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            local_time(at("2026-03-04T11:57:00Z"), now, &zone),
            "3 min ago (13:57)"
        );
        assert_eq!(
            local_time(at("2026-03-02T08:00:00Z"), now, &zone),
            "2 d ago (Mon 2 Mar 10:00)"
        );
        assert_eq!(
            local_time(at("2025-12-31T23:30:00Z"), now, &zone),
            "62 d ago (Thu 1 Jan 01:30)",
            "the local date decides"
        );
        assert_eq!(
            local_time(at("2025-06-01T10:00:00Z"), now, &zone),
            "276 d ago (2025-06-01 12:00)"
        );
    }
}
