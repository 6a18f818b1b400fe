//! Everything `lulu` prints: pure functions from domain values to text, so the output is
//! pinned by snapshots. Styles are ANSI codes that the output stream strips where colour
//! is not wanted (not a terminal, or `NO_COLOR`). Every piece of stored or agent text goes
//! through [`safe`] before it is placed in the output: stripping escapes is the stream's
//! job only for Lulu's own colours.

pub mod json;
pub mod live;
pub mod notes;
pub mod safe;
pub mod sessions;
pub mod state;
pub mod style;
pub mod table;
pub mod text;
pub mod transcript;
pub mod usage;

#[cfg(test)]
mod tests;
