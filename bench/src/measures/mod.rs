//! The measures, in the order; each gives table rows (or an error the table shows).

pub mod desktop;
pub mod detach;
pub mod ingest;
pub mod interrupt;
pub mod large_db;
pub mod memory;
pub mod run;
pub mod sampler;

use std::cell::RefCell;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::world::Tools;

/// What every measure gets.
pub struct Context {
    /// The binaries and installs.
    pub tools: Tools,
    /// Quick mode: fewer repetitions and a smaller dataset.
    pub quick: bool,
    /// Notes printed under the table (what a quick mode left out, what a row means).
    pub notes: RefCell<Vec<String>>,
}

impl Context {
    /// Adds a note under the table.
    pub fn note(&self, text: &str) {
        self.notes.borrow_mut().push(text.to_owned());
    }

    /// `quick` in quick mode, else `full`.
    pub fn pick<T>(&self, quick: T, full: T) -> T {
        if self.quick {
            quick
        } else {
            full
        }
    }
}

/// Runs `command` to exit with status 0, discarding its output; spawn to exit.
pub fn timed(command: &mut Command) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let output = command.output()?;
    let took = started.elapsed();
    if !output.status.success() {
        bail!(
            "{} exited {:?}: {}",
            command.get_program().display(),
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(took)
}
