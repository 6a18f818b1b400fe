//! What the runtime needs from the operating system's process table.

use lulu_domain::{ProcessRecord, RunId};

/// Looks processes up and kills recorded process groups safely.
pub trait ProcessTable: Send + Sync {
    /// The start time (clock ticks after boot) of a living process, `None` if there is none.
    fn start_time(&self, pid: u32) -> Option<u64>;

    /// Whether the process that started at `start_time` as `pid` is gone (no such process,
    /// a zombie, or the pid reused). Only proof counts: a lookup that fails proves nothing.
    fn is_gone(&self, pid: u32, start_time: u64) -> bool {
        self.start_time(pid) != Some(start_time)
    }

    /// The state letter (`R`, `S`, `D`, `T`, `Z`, ...) of process `pid` if it is still the
    /// process that started at `start_time`.
    fn state(&self, pid: u32, start_time: u64) -> Option<char>;

    /// Kills the group of every recorded process that is still the same process (its start
    /// time matches); returns how many groups were signalled.
    fn kill_groups(&self, processes: &[ProcessRecord]) -> usize;

    /// Every living process marked as belonging to run `run_id`, recorded or not (a tool
    /// started just before its owner died may never have been recorded).
    fn marked(&self, run_id: RunId) -> Vec<ProcessRecord>;
}

/// The machine's real process table (Linux `/proc`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemProcesses;

impl ProcessTable for SystemProcesses {
    fn start_time(&self, pid: u32) -> Option<u64> {
        lulu_adapters_cli::process_start_time(pid)
    }

    fn is_gone(&self, pid: u32, start_time: u64) -> bool {
        lulu_adapters_cli::process_gone(pid, start_time)
    }

    fn state(&self, pid: u32, start_time: u64) -> Option<char> {
        lulu_adapters_cli::read_stat(pid)
            .filter(|stat| stat.start_time == start_time)
            .map(|stat| stat.state)
    }

    fn kill_groups(&self, processes: &[ProcessRecord]) -> usize {
        lulu_adapters_cli::kill_recorded_groups(processes)
    }

    fn marked(&self, run_id: RunId) -> Vec<ProcessRecord> {
        lulu_adapters_cli::processes_of_run(run_id)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;

    /// A process table held in memory.
    #[derive(Debug, Default)]
    pub(crate) struct FakeProcesses {
        alive: Mutex<HashMap<u32, u64>>,
        states: Mutex<HashMap<u32, char>>,
        killed: Mutex<Vec<u32>>,
        marks: Mutex<Vec<(RunId, ProcessRecord)>>,
    }

    impl FakeProcesses {
        pub(crate) fn with(alive: &[(u32, u64)]) -> Self {
            Self {
                alive: Mutex::new(alive.iter().copied().collect()),
                states: Mutex::default(),
                killed: Mutex::default(),
                marks: Mutex::default(),
            }
        }

        /// Gives living process `pid` this state letter (`S` otherwise).
        pub(crate) fn set_state(&self, pid: u32, state: char) {
            self.states.lock().unwrap().insert(pid, state);
        }

        pub(crate) fn killed(&self) -> Vec<u32> {
            self.killed.lock().unwrap().clone()
        }
    }

    impl FakeProcesses {
        /// Marks `pid` (alive, with `start_time`) as a process of `run`.
        pub(crate) fn mark(&self, run: RunId, pid: u32, start_time: u64) {
            self.alive.lock().unwrap().insert(pid, start_time);
            self.marks.lock().unwrap().push((
                run,
                ProcessRecord {
                    pid,
                    pgid: pid,
                    start_time,
                },
            ));
        }
    }

    impl ProcessTable for FakeProcesses {
        fn start_time(&self, pid: u32) -> Option<u64> {
            self.alive.lock().unwrap().get(&pid).copied()
        }

        fn state(&self, pid: u32, start_time: u64) -> Option<char> {
            let alive = self.alive.lock().unwrap();
            (alive.get(&pid) == Some(&start_time))
                .then(|| *self.states.lock().unwrap().get(&pid).unwrap_or(&'S'))
        }

        fn kill_groups(&self, processes: &[ProcessRecord]) -> usize {
            let mut alive = self.alive.lock().unwrap();
            let mut killed = 0;
            for process in processes {
                if alive.get(&process.pid) == Some(&process.start_time) {
                    alive.remove(&process.pid);
                    self.killed.lock().unwrap().push(process.pgid);
                    killed += 1;
                }
            }
            killed
        }

        fn marked(&self, run_id: RunId) -> Vec<ProcessRecord> {
            let alive = self.alive.lock().unwrap();
            let marks = self.marks.lock().unwrap();
            marks
                .iter()
                .filter(|(run, record)| {
                    *run == run_id && alive.get(&record.pid) == Some(&record.start_time)
                })
                .map(|(_, record)| *record)
                .collect()
        }
    }
}
