//! Owners killed (SIGKILL) at random points: before the database exists, while the session is
//! created, starting, streaming or running a tool, and while it settles. The seed is
//! printed; `LULU_FAULT_SEED=<seed>` replays a failing sequence.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::harness::{self, PATIENCE};
use crate::invariants::{check_invariants, now_ns, Transcripts};
use crate::world::{kill_and_wait, signal, World};

/// How many owners each variant kills.
pub const ROUNDS: usize = 20;

/// One kill-at-a-random-point exercise.
pub struct KillRounds<'a> {
    /// Printed with every round.
    pub name: &'a str,
    /// A fresh world for each round.
    pub world: &'a dyn Fn() -> World,
    /// Prompts to pick from.
    pub prompts: &'a [&'a str],
    /// `lulu run` options before the prompt.
    pub options: &'a [&'a str],
    /// The kill comes within this long of starting `lulu`.
    pub latest: Duration,
    /// How the transcripts must add up, given the kill's instant.
    pub transcripts: &'a dyn Fn(u64) -> Transcripts,
}

/// The seed for a random sequence: `LULU_FAULT_SEED`, else a fresh one; printed.
pub fn seed(name: &str) -> u64 {
    let seed = std::env::var("LULU_FAULT_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("{name}: seed {seed} (replay with LULU_FAULT_SEED={seed})");
    seed
}

impl KillRounds<'_> {
    /// Runs [`ROUNDS`] rounds, each in a fresh world: start a session in the foreground
    /// or detached, SIGKILL its owner at a random instant, then check the invariants.
    pub fn run(&self) {
        let mut rng = fastrand::Rng::with_seed(seed(self.name));
        let latest = u64::try_from(self.latest.as_millis()).unwrap_or(u64::MAX);
        for round in 1..=ROUNDS {
            let world = (self.world)();
            let prompt = self.prompts[rng.usize(..self.prompts.len())];
            let delay = Duration::from_millis(rng.u64(0..latest));
            let detached = rng.bool();
            let how = if detached { "detached" } else { "foreground" };
            println!(
                "{} round {round}: {how} `{prompt}`, owner SIGKILLed after {delay:?}",
                self.name
            );
            let mut args = vec!["run"];
            if detached {
                args.push("--detach");
            }
            args.extend(self.options);
            args.push(prompt);
            let killed_at = if detached {
                kill_detached_owner(&world, &args, delay)
            } else {
                kill_foreground_owner(&world, &args, delay)
            };
            check_invariants(&world, (self.transcripts)(killed_at));
        }
    }
}

/// A foreground `lulu run` follows a session the daemon owns: kill the client `delay`
/// after it starts, then the daemon it started (the owner), once it is up.
fn kill_foreground_owner(world: &World, args: &[&str], delay: Duration) -> u64 {
    let child = world.spawn(args);
    // The random instant is the point of the test, not a wait for a condition.
    std::thread::sleep(delay);
    signal(child.id().cast_signed(), Signal::SIGKILL);
    // Whatever it managed to do; it may even have finished before the kill.
    let _ = world.finish(child);
    // A daemon it had begun to start finishes starting: wait for it, then kill it.
    harness::wait_until("no lulu but a serving daemon is left", || {
        harness::reap_orphans();
        world.marked().into_iter().all(|pid| {
            !is_lulu(pid)
                || (harness::is_daemon(pid) && world.run(&["daemon", "status"]).status.success())
        })
    });
    let killed_at = now_ns();
    for daemon in world.daemons() {
        kill_and_wait(daemon);
    }
    killed_at
}

/// Whether `pid` runs the `lulu` binary.
fn is_lulu(pid: i32) -> bool {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .is_ok_and(|exe| exe.file_name().is_some_and(|name| name == "lulu"))
}

/// `lulu run --detach` starts the daemon, which owns the run: kill the daemon `delay`
/// after the start, be it before or after it reported the session.
fn kill_detached_owner(world: &World, args: &[&str], delay: Duration) -> u64 {
    let began = Instant::now();
    let starter = world.spawn(args);
    let owner = loop {
        if let Some(owner) = world.daemons().first() {
            break *owner;
        }
        assert!(began.elapsed() < PATIENCE, "no daemon appeared");
        std::thread::sleep(Duration::from_millis(2));
    };
    if let Some(rest) = delay.checked_sub(began.elapsed()) {
        std::thread::sleep(rest);
    }
    let killed_at = now_ns();
    kill_and_wait(owner);
    let output = world.finish(starter);
    if !output.status.success() {
        // Killed before it reported: the starter must say so, not hang or stay silent.
        assert!(
            !output.stderr.is_empty(),
            "the starter failed silently: {output:?}"
        );
    }
    harness::reap_orphans();
    killed_at
}

#[test]
fn owners_sigkilled_at_random_points_leave_nothing_behind() {
    KillRounds {
        name: "fake-claude owner SIGKILL",
        world: &|| World::with_env(&[("FAKE_CLAUDE_TICK_MS", "25")]),
        prompts: &[
            "SLOW 400",
            "BASH sleep 300",
            "SAY short and sweet",
            "SLOW 6",
        ],
        options: &[],
        latest: Duration::from_secs(3),
        transcripts: &Transcripts::OwnerKilledAt,
    }
    .run();
}
