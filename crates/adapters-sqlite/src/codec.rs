//! How domain values are written to and read from columns: times as fixed-width RFC 3339
//! UTC text, ids as hyphenated UUIDs, checked text through the domain's own parsers, and
//! structured values as their serde JSON.

use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::types::{Type, ValueRef};
use rusqlite::Row;
use serde::de::DeserializeOwned;

/// A stored word this build does not know (a status, a kind, an action).
#[derive(Debug, thiserror::Error)]
#[error("`{word}` is not a known {what}")]
pub(crate) struct UnknownWord {
    what: &'static str,
    word: String,
}

impl UnknownWord {
    /// `word` is not a known `what`.
    pub fn new(what: &'static str, word: &str) -> Self {
        Self {
            what,
            word: word.to_owned(),
        }
    }
}

/// A time as stored: `2026-01-01T00:00:00.000000000Z`, whose text order is time order.
pub(crate) fn time_text(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text).map(|time| time.with_timezone(&Utc))
}

/// Turns a parser's refusal of column `index` into SQLite's conversion error.
pub(crate) fn conversion_failure<E>(index: usize) -> impl FnOnce(E) -> rusqlite::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |error| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(error))
}

/// Reads a text column through `parse`; a refusal is a conversion failure.
pub(crate) fn parsed<T, E>(
    row: &Row<'_>,
    index: usize,
    parse: impl FnOnce(String) -> Result<T, E>,
) -> rusqlite::Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let text: String = row.get(index)?;
    parse(text).map_err(conversion_failure(index))
}

/// Reads a nullable text column through `parse`.
pub(crate) fn parsed_optional<T, E>(
    row: &Row<'_>,
    index: usize,
    parse: impl FnOnce(String) -> Result<T, E>,
) -> rusqlite::Result<Option<T>>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let text: Option<String> = row.get(index)?;
    text.map(parse)
        .transpose()
        .map_err(conversion_failure(index))
}

/// Reads a nullable text column in place (no copy), through `parse`; a value that is not
/// text fails as [`Row::get`] of a `String` does.
fn borrowed_optional<T, E>(
    row: &Row<'_>,
    index: usize,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> rusqlite::Result<Option<T>>
where
    E: std::error::Error + Send + Sync + 'static,
{
    match row.get_ref(index)? {
        ValueRef::Null => Ok(None),
        ValueRef::Text(bytes) => {
            let text = std::str::from_utf8(bytes).map_err(conversion_failure(index))?;
            parse(text).map(Some).map_err(conversion_failure(index))
        }
        other => Err(rusqlite::Error::InvalidColumnType(
            index,
            row.as_ref().column_name(index)?.to_owned(),
            other.data_type(),
        )),
    }
}

/// Reads a text column in place, through `parse`.
fn borrowed<T, E>(
    row: &Row<'_>,
    index: usize,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> rusqlite::Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    borrowed_optional(row, index, parse)?.ok_or_else(|| {
        rusqlite::Error::InvalidColumnType(
            index,
            row.as_ref()
                .column_name(index)
                .map_or_else(|_| String::new(), str::to_owned),
            Type::Null,
        )
    })
}

/// Reads an id or word column.
pub(crate) fn from_text<T>(row: &Row<'_>, index: usize) -> rusqlite::Result<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    borrowed(row, index, str::parse)
}

/// Reads a nullable id or word column.
pub(crate) fn optional_from_text<T>(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<T>>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    borrowed_optional(row, index, str::parse)
}

/// Reads a time column.
pub(crate) fn time(row: &Row<'_>, index: usize) -> rusqlite::Result<DateTime<Utc>> {
    borrowed(row, index, parse_time)
}

/// Reads a nullable time column.
pub(crate) fn optional_time(
    row: &Row<'_>,
    index: usize,
) -> rusqlite::Result<Option<DateTime<Utc>>> {
    borrowed_optional(row, index, parse_time)
}

/// Reads a JSON column.
pub(crate) fn json<T: DeserializeOwned>(row: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    parsed(row, index, |text| serde_json::from_str(&text))
}

/// Reads a nullable JSON column.
pub(crate) fn optional_json<T: DeserializeOwned>(
    row: &Row<'_>,
    index: usize,
) -> rusqlite::Result<Option<T>> {
    parsed_optional(row, index, |text| serde_json::from_str(&text))
}
