//! What the runtime needs from the operating system's process table.

use lulu_domain::ProcessRecord;

/// Looks processes up and kills recorded process groups safely.
pub trait ProcessTable: Send + Sync {
    /// The start time (clock ticks after boot) of a living process, `None` if there is none.
    fn start_time(&self, pid: u32) -> Option<u64>;

    /// Kills the group of every recorded process that is still the same process (its start
    /// time matches); returns how many groups were signalled.
    fn kill_groups(&self, processes: &[ProcessRecord]) -> usize;
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
        killed: Mutex<Vec<u32>>,
    }

    impl FakeProcesses {
        pub(crate) fn with(alive: &[(u32, u64)]) -> Self {
            Self {
                alive: Mutex::new(alive.iter().copied().collect()),
                killed: Mutex::default(),
            }
        }

        pub(crate) fn killed(&self) -> Vec<u32> {
            self.killed.lock().unwrap().clone()
        }
    }

    impl ProcessTable for FakeProcesses {
        fn start_time(&self, pid: u32) -> Option<u64> {
            self.alive.lock().unwrap().get(&pid).copied()
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
    }
}
