//! Agents and owners that do not cooperate: an agent ignoring interrupts, a frozen
//! (stopped with SIGSTOP) agent, a frozen owner, and a follower whose owner dies.

use std::time::Instant;

use nix::sys::signal::Signal;

use crate::harness::{parent_of, wait_until, PATIENCE};
use crate::invariants::{check_invariants, now_ns, Transcripts};
use crate::world::{kill_and_wait, signal, World};

/// Interrupts `id` and expects it interrupted within the deadline. Success says so: past
/// the interrupt policy's deadline the supervisor gives up and `lulu interrupt` fails with
/// "timed out", so no wall-clock limit is asserted here (a loaded machine would trip it).
fn interrupt_within_deadline(world: &World, id: &str) {
    let began = Instant::now();
    let output = world.run(&["interrupt", id]);
    let took = began.elapsed();
    assert!(
        output.status.success(),
        "interrupt failed after {took:?}: {output:?}\nowners log (tail):\n{}",
        world.owners_log_tail()
    );
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.starts_with("interrupted"), "{said}");
    assert_eq!(world.show(id)["status"], "interrupted");
}

#[test]
fn an_agent_ignoring_interrupts_is_stopped_within_the_deadline() {
    let world = World::new();
    let id = world.detach("IGNORE_INT SLOW 600");
    world.wait_for_agent(&id);

    interrupt_within_deadline(&world, &id);

    check_invariants(&world, Transcripts::Exact);
}

#[test]
fn a_frozen_agent_is_stopped_within_the_deadline() {
    let world = World::new();
    let id = world.detach("SLOW 600");
    let agent = world.wait_for_agent(&id);
    signal(agent, Signal::SIGSTOP);

    interrupt_within_deadline(&world, &id);

    check_invariants(&world, Transcripts::Exact);
}

#[test]
fn interrupting_a_session_whose_owner_is_frozen_fails_within_the_deadline_with_a_clear_error() {
    let world = World::new();
    let id = world.detach("SLOW 600");
    let agent = world.wait_for_agent(&id);
    let owner = parent_of(agent).expect("the agent's parent is its owner");
    signal(owner, Signal::SIGSTOP);

    let began = Instant::now();
    let attempt = world.spawn(&["interrupt", &id]);
    let outcome = world.finish_within(attempt, PATIENCE);
    let took = began.elapsed();
    signal(owner, Signal::SIGCONT);

    let output = outcome.unwrap_or_else(|output| {
        panic!(
            "`lulu interrupt` of a frozen owner's session still waited after {took:?}: {output:?}"
        )
    });
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let message = String::from_utf8_lossy(&output.stderr);
    // Told the owner is stopped (found within the deadline), not that it never answered
    // (said only once the deadline has passed).
    assert!(
        message.contains(&id[..8]) && message.contains("owner") && message.contains("stopped"),
        "the error names the session and its stopped owner: {message}"
    );
    // Thawed, the owner carries on (or carries out the late request): stop it for good.
    wait_until("the thawed session is interrupted", || {
        if world.show(&id)["status"] == "running" {
            let _ = world.run(&["interrupt", &id]);
        }
        world.show(&id)["status"] == "interrupted"
    });
    check_invariants(&world, Transcripts::Exact);
}

#[test]
fn following_a_session_ends_when_its_owner_dies() {
    let world = World::new();
    let id = world.detach("SLOW 600");
    let agent = world.wait_for_agent(&id);
    let owner = parent_of(agent).expect("the agent's parent is its owner");
    let follower = world.spawn(&["logs", "--follow", &id]);
    wait_until("a tick is stored", || {
        world.ok(&["logs", &id]).contains("tick 1.")
    });

    let killed_at = now_ns();
    kill_and_wait(owner);
    let followed = world.finish_within(follower, PATIENCE);

    let output = followed.unwrap_or_else(|output| {
        panic!("`logs --follow` still followed {PATIENCE:?} after the owner died: {output:?}")
    });
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("tick 1."),
        "it followed the transcript first: {output:?}"
    );
    check_invariants(&world, Transcripts::OwnerKilledAt(killed_at));
}
