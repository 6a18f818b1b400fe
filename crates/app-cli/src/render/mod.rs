//! Everything `lulu` prints: pure functions from domain values to text, so the output is
//! pinned by snapshots. Styles are ANSI codes that the output stream strips where colour
//! is not wanted (not a terminal, or `NO_COLOR`).

pub mod json;
pub mod sessions;
pub mod style;
pub mod text;
pub mod transcript;

#[cfg(test)]
mod tests;
