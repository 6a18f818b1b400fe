//! The task that owns one agent process, from spawn to reaping.
//!
//! It alone touches the child: it `select!`s over stdout lines, the child's exit, stop
//! requests and changes of the descendants the shared [`TreeSampler`](crate::TreeSampler)
//! recorded for it. No lock is held across `wait()`. It sends the run's events in order and
//! then exactly one `Exited`, only after the child was reaped and every recorded descendant
//! still alive was killed; dropping its [`RunTracking`] then unregisters the run.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use lulu_domain::{
    AgentEvent, ProcessRecord, RunExit, RunId, RunOutcome, RunUpdate, SessionId, StopMode,
};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, ChildStdout};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{sleep, sleep_until, timeout, Instant};
use tokio_util::codec::FramedRead;

use crate::cgroup::RunCgroup;
use crate::classify::{classify, Ending, ResultSummary, Termination, MAX_MESSAGE_CHARS};
use crate::config::CliLauncherConfig;
use crate::control::OwnerCommand;
use crate::kill::{is_child_subreaper, kill_recorded_groups, lingering, reap_adopted};
use crate::lines::BoundedLines;
use crate::parse::{parse_output, Output};
use crate::redact::Redactor;
use crate::sampler::RunTracking;
use crate::stderr::StderrTail;
use crate::stdin::{interrupt_line, user_line};
use crate::tree::{processes_with_env, still_running};

/// The environment variable that marks every process of a run (value: the run id), so
/// descendants that left the ppid tree can still be found when the run stops or ends.
pub const RUN_ENV: &str = "LULU_RUN_ID";
/// How long a run whose updates nobody reads gets between its graceful and forceful stop;
/// also how long an interrupted agent gets to exit after its turn's result (its stdin is
/// then closed, and the supervisor has settled the session).
const EXIT_GRACE: Duration = Duration::from_secs(2);
/// How long stdout may stay open after the agent exited (a lingering descendant holding it).
const STDOUT_DRAIN_LIMIT: Duration = Duration::from_secs(2);
/// How long killed descendants get to die and be reaped.
const SETTLE_LIMIT: Duration = Duration::from_secs(1);
/// Pause between checks while killed descendants settle.
const SETTLE_POLL: Duration = Duration::from_millis(5);

/// Everything the owner task needs, moved into it at spawn.
pub struct Owner {
    /// The run's session.
    pub session_id: SessionId,
    /// The run.
    pub run_id: RunId,
    /// The agent process.
    pub child: Child,
    /// The agent itself (its group is its pid).
    pub root: ProcessRecord,
    /// Its stdout, split into bounded lines.
    pub stdout: FramedRead<ChildStdout, BoundedLines>,
    /// Its stdin writer; `None` once Lulu closed stdin.
    pub stdin: Option<mpsc::UnboundedSender<String>>,
    /// Keep stdin open after a turn's result (a kept-open run idles for follow-ups).
    pub keep_open: bool,
    /// The stderr drain, giving the tail at the end.
    pub stderr: JoinHandle<StderrTail>,
    /// Stop requests and stdin lines from the run's control.
    pub commands: mpsc::UnboundedReceiver<OwnerCommand>,
    /// Where events and the exit go.
    pub updates: mpsc::Sender<RunUpdate>,
    /// Launcher settings.
    pub config: Arc<CliLauncherConfig>,
    /// Hides secrets in messages.
    pub redactor: Redactor,
    /// The run's registration with the tree sampler: its recorded descendants.
    pub tracking: RunTracking,
    /// The run's own cgroup, where a delegated cgroup v2 subtree exists.
    pub cgroup: Option<RunCgroup>,
}

/// What the owner learns while the run lives.
#[derive(Default)]
#[allow(clippy::struct_excessive_bools)] // independent facts, each set by its own event
struct Seen {
    descendants: Vec<ProcessRecord>,
    /// The last stop requested while it ran.
    stop: Option<StopMode>,
    last_result: Option<ResultSummary>,
    saw_stdout: bool,
    /// Nobody reads the updates any more: stop the run and just reap it.
    orphaned: bool,
    forceful_at: Option<Instant>,
    stdout_open: bool,
    interrupts_sent: u32,
    /// A turn's result came and no follow-up was sent since: the agent idles.
    between_turns: bool,
}

impl Owner {
    /// Runs the child to its end and reports its exit.
    pub async fn run(mut self) {
        let mut seen = Seen {
            stdout_open: true,
            ..Seen::default()
        };
        self.report_records(&seen);
        let status = loop {
            let forceful_at = seen.forceful_at;
            tokio::select! {
                biased;
                line = self.stdout.next(), if seen.stdout_open => self.on_stdout(line, &mut seen).await,
                Some(command) = self.commands.recv() => self.on_command(command, &mut seen).await,
                status = self.child.wait() => break status,
                () = self.updates.closed(), if !seen.orphaned => self.on_orphaned(&mut seen),
                () = sleep_until(forceful_at.unwrap_or_else(Instant::now)), if forceful_at.is_some() => {
                    seen.forceful_at = None;
                    self.on_stop(StopMode::Forceful, &mut seen);
                }
                () = self.tracking.changed() => self.refresh_tree(&mut seen),
            }
        };
        crate::reaper::release(self.root.pid);
        self.commands.close();
        self.stdin = None;
        self.finish(status, seen).await;
    }

    async fn on_stdout(
        &mut self,
        line: Option<Result<crate::lines::Line, std::io::Error>>,
        seen: &mut Seen,
    ) {
        let line = match line {
            Some(Ok(line)) => line,
            Some(Err(error)) => {
                seen.stdout_open = false;
                let message = format!("stopped reading the agent's stdout: {error}");
                self.send(AgentEvent::Diagnostic { message }, seen).await;
                return;
            }
            None => {
                seen.stdout_open = false;
                return;
            }
        };
        seen.saw_stdout = true;
        let line = self.redactor.redact_line(line);
        let events = match parse_output(&line, self.config.max_line_bytes) {
            Output::Events(events) => events,
            Output::TextDelta(text) => {
                if !seen.orphaned && self.updates.send(RunUpdate::TextDelta(text)).await.is_err() {
                    self.on_orphaned(seen);
                }
                return;
            }
        };
        for event in events {
            if let Some(result) = ResultSummary::of(&event) {
                // The turn is over: closing stdin ends the run (or an interrupt's wait),
                // unless the run is kept open for follow-ups.
                if !self.keep_open {
                    self.stdin = None;
                }
                if seen.stop == Some(StopMode::Graceful) {
                    // The interrupt took effect and the session settles on this line: the
                    // agent must now exit, or be stopped forcefully.
                    self.stdin = None;
                    let deadline = Instant::now() + EXIT_GRACE;
                    seen.forceful_at =
                        Some(seen.forceful_at.map_or(deadline, |at| at.min(deadline)));
                }
                seen.between_turns = true;
                seen.last_result = Some(result);
            }
            self.send(event, seen).await;
        }
    }

    async fn send(&mut self, event: AgentEvent, seen: &mut Seen) {
        tracing::debug!(kind = event.kind(), "agent event");
        if seen.orphaned {
            return;
        }
        if self.updates.send(RunUpdate::Event(event)).await.is_err() {
            self.on_orphaned(seen);
        }
    }

    fn on_orphaned(&mut self, seen: &mut Seen) {
        if seen.orphaned {
            return;
        }
        tracing::warn!("nobody reads this run's updates any more: stopping it");
        seen.orphaned = true;
        self.on_stop(StopMode::Graceful, seen);
        seen.forceful_at = Some(Instant::now() + EXIT_GRACE);
    }

    async fn on_command(&mut self, command: OwnerCommand, seen: &mut Seen) {
        match command {
            OwnerCommand::Stop(mode) => self.on_stop(mode, seen),
            OwnerCommand::Write(line) => {
                if !self.write_stdin(line) {
                    tracing::warn!("the agent's stdin is closed: a control line was not sent");
                }
            }
            OwnerCommand::CloseInput => {
                tracing::info!("closing the agent's stdin: the run ends after its turn");
                self.stdin = None;
            }
            OwnerCommand::Send(text, reply) => {
                let written = self.write_stdin(user_line(&text));
                if written {
                    seen.between_turns = false;
                    // The agent does not echo it: the transcript records it where it was sent.
                    self.send(AgentEvent::UserMessage { text }, seen).await;
                }
                let _ = reply.send(written);
            }
        }
    }

    /// Hands `line` to the stdin writer; false once stdin is closed.
    fn write_stdin(&self, line: String) -> bool {
        self.stdin
            .as_ref()
            .is_some_and(|stdin| stdin.send(line).is_ok())
    }

    #[tracing::instrument(skip(self, seen), fields(session_id = %self.session_id, run_id = %self.run_id))]
    fn on_stop(&mut self, mode: StopMode, seen: &mut Seen) {
        seen.stop = Some(mode);
        self.refresh_tree(seen);
        self.sweep_marked(seen);
        self.tracking.sample_soon();
        match mode {
            StopMode::Graceful => self.interrupt(seen),
            StopMode::Forceful => {
                let mut everything = vec![self.root];
                everything.extend(&seen.descendants);
                let killed = kill_recorded_groups(&everything);
                let cgroup_killed = self.cgroup.as_ref().map(RunCgroup::kill);
                tracing::info!(
                    killed,
                    cgroup_killed = ?cgroup_killed,
                    "forceful stop: killed the recorded process groups"
                );
            }
        }
    }

    /// Graceful stop: the stdin interrupt while a turn runs, else SIGINT to the agent's group.
    /// A kept-open agent idle between turns has nothing to interrupt: its stdin is closed.
    fn interrupt(&mut self, seen: &mut Seen) {
        if seen.between_turns && self.stdin.is_some() {
            tracing::info!("graceful stop between turns: closed the agent's stdin");
            self.stdin = None;
            return;
        }
        seen.interrupts_sent += 1;
        let request_id = format!(
            "lulu-interrupt-{}-{}",
            self.run_id.short(),
            seen.interrupts_sent
        );
        let delivered = self
            .stdin
            .as_ref()
            .is_some_and(|stdin| stdin.send(interrupt_line(&request_id)).is_ok());
        if delivered {
            tracing::info!(
                request_id,
                "graceful stop: sent the interrupt request on stdin"
            );
            return;
        }
        self.stdin = None;
        if still_running(&self.root).is_some() {
            let group = Pid::from_raw(i32::try_from(self.root.pgid).unwrap_or(0));
            let sent = killpg(group, Signal::SIGINT);
            tracing::info!(
                ok = sent.is_ok(),
                "graceful stop: stdin is closed, sent SIGINT"
            );
        }
    }

    /// Takes the descendants the sampler recorded (it keeps earlier ones while alive).
    fn refresh_tree(&self, seen: &mut Seen) {
        let recorded = self.tracking.records();
        if recorded != seen.descendants {
            seen.descendants = recorded;
            tracing::debug!(
                count = seen.descendants.len(),
                "recorded descendants changed"
            );
            self.report_records(seen);
        }
    }

    /// Records every process of the run now, before a stop and after the exit. In a child
    /// subreaper every descendant, orphaned or `setsid`'d, is still below this process:
    /// one sampler pass finds them (an adopted orphan by its [`RUN_ENV`] mark). Elsewhere
    /// an orphan may have left the tree: every process's environment is searched for the
    /// mark (costlier: it reads all of `/proc`).
    fn sweep_marked(&self, seen: &mut Seen) {
        if is_child_subreaper() {
            self.tracking.sample_now();
        } else {
            let mark = format!("{RUN_ENV}={}", self.run_id);
            let marked: Vec<ProcessRecord> = processes_with_env(&mark)
                .iter()
                .map(crate::tree::ProcStat::record)
                .collect();
            self.tracking.add(&marked);
        }
        self.refresh_tree(seen);
    }

    fn report_records(&self, seen: &Seen) {
        if let Some(observer) = &self.config.observer {
            let mut records = vec![self.root];
            records.extend(&seen.descendants);
            observer(self.session_id, self.run_id, records);
        }
    }

    /// After the child was reaped: finish stdout, kill what it left, then report the exit.
    async fn finish(mut self, status: std::io::Result<ExitStatus>, mut seen: Seen) {
        self.sweep_marked(&mut seen);
        self.settle(&mut seen).await;
        let drained = timeout(STDOUT_DRAIN_LIMIT, async {
            while seen.stdout_open {
                let line = self.stdout.next().await;
                self.on_stdout(line, &mut seen).await;
            }
        })
        .await;
        if drained.is_err() {
            let message =
                "the agent's stdout stayed open after it exited; stopped reading".to_owned();
            self.send(AgentEvent::Diagnostic { message }, &mut seen)
                .await;
        }
        self.settle(&mut seen).await;
        let stderr = if let Ok(Ok(tail)) = timeout(STDOUT_DRAIN_LIMIT, &mut self.stderr).await {
            tail
        } else {
            self.stderr.abort();
            StderrTail::default()
        };
        let stderr_text = self.redactor.redact(&stderr.text);
        let exit = exit_of(status, &seen, &stderr_text);
        if matches!(exit.outcome, RunOutcome::Failed { .. }) && !quoted_whole(&stderr_text) {
            // The failure message keeps one line of it; the transcript keeps it all.
            let message = stderr_record(&stderr_text, stderr.total_bytes);
            self.send(AgentEvent::Diagnostic { message }, &mut seen)
                .await;
        }
        tracing::info!(
            outcome = exit.outcome.label(),
            exit_code = exit.exit_code,
            stderr_bytes = stderr.total_bytes,
            "agent exited"
        );
        let _ = self.updates.send(RunUpdate::Exited(exit)).await;
    }

    /// Kills what the run left (its whole cgroup, every recorded descendant), reaps what
    /// this process adopted, and removes the run's cgroup.
    async fn settle(&self, seen: &mut Seen) {
        self.refresh_tree(seen);
        if let Some(cgroup) = &self.cgroup {
            // Fails harmlessly once the cgroup is gone.
            let _ = cgroup.kill();
        }
        settle_descendants(&seen.descendants).await;
        if let Some(cgroup) = &self.cgroup {
            remove_cgroup(cgroup).await;
        }
    }
}

/// Removes the run's cgroup, killing what is still in it, polling until it is gone or
/// [`SETTLE_LIMIT`] passed.
async fn remove_cgroup(cgroup: &RunCgroup) {
    let deadline = Instant::now() + SETTLE_LIMIT;
    while !cgroup.remove() {
        if let Err(error) = cgroup.kill() {
            tracing::warn!(%error, "could not kill what is left in the run's cgroup");
        }
        if Instant::now() >= deadline {
            tracing::warn!(?cgroup, "the run's cgroup did not empty in time");
            return;
        }
        sleep(SETTLE_POLL).await;
    }
}

/// Whether a failure message can quote all of `stderr`: nothing, or one short line.
fn quoted_whole(stderr: &str) -> bool {
    let stderr = stderr.trim();
    !stderr.contains('\n') && stderr.chars().count() <= MAX_MESSAGE_CHARS / 2
}

/// The transcript entry holding what a failed agent wrote on stderr (its kept tail).
fn stderr_record(text: &str, total_bytes: u64) -> String {
    let kept = text.len() as u64;
    let extent = if total_bytes > kept {
        format!("its last {kept} of {total_bytes} bytes")
    } else {
        format!("{total_bytes} bytes")
    };
    format!("the agent wrote on stderr ({extent}):\n{}", text.trim_end())
}

/// The classified exit of a reaped run.
fn exit_of(status: std::io::Result<ExitStatus>, seen: &Seen, stderr: &str) -> RunExit {
    let termination = match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => Termination::Code(code),
            (None, Some(signal)) => Termination::Signal(signal),
            (None, None) => Termination::Code(-1),
        },
        Err(error) => {
            tracing::error!(%error, "could not wait for the agent");
            Termination::Code(-1)
        }
    };
    classify(&Ending {
        stop_requested: seen.stop.is_some(),
        last_result: seen.last_result.as_ref(),
        termination,
        saw_stdout: seen.saw_stdout,
        stderr_tail: stderr,
    })
}

/// Kills every recorded descendant still alive and reaps those adopted by this process,
/// polling until none is left or [`SETTLE_LIMIT`] passed.
async fn settle_descendants(descendants: &[ProcessRecord]) {
    let deadline = Instant::now() + SETTLE_LIMIT;
    loop {
        let left = lingering(descendants);
        if left.is_empty() {
            return;
        }
        let killed = kill_recorded_groups(&left);
        if killed > 0 {
            tracing::info!(killed, "killed descendants the agent left behind");
        }
        reap_adopted(&left);
        if Instant::now() >= deadline {
            tracing::warn!(
                left = left.len(),
                "recorded descendants did not go away in time"
            );
            return;
        }
        sleep(SETTLE_POLL).await;
    }
}
