//! The streams the UI holds open: one *watch* of every change (the dashboard) and any
//! number of *follows* of one session (session views), each forwarded from the daemon
//! to a Tauri channel by a task of its own. The daemon decides everything; these tasks
//! only carry what it says, reconnecting (and so starting a daemon) when it goes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tauri::async_runtime::JoinHandle;
use tauri::ipc::Channel;

use lulu_domain::{RunId, Session, SessionId};
use lulu_runtime::protocol::Change;

use crate::batch::ChangeBatch;
use crate::state::AppState;
use crate::views::{activity, FollowMessage, WatchMessage};

/// How often pending activity (the newest transcript entry of each session that grew)
/// is read and sent: often enough to feel live, rarely enough to stay cheap.
const ACTIVITY_TICK: Duration = Duration::from_millis(250);
/// How long to wait before connecting again after the daemon went.
const RECONNECT_PAUSE: Duration = Duration::from_millis(300);

/// Called with a session the user should hear about: it just settled (completed, failed,
/// interrupted) or started waiting for an approval.
pub type NoticeHook = Arc<dyn Fn(&Session) + Send + Sync>;

/// The open streams.
#[derive(Default)]
pub struct Streams {
    watch: Mutex<Option<JoinHandle<()>>>,
    watch_channel: Mutex<Option<Channel<WatchMessage>>>,
    follows: Mutex<HashMap<u32, JoinHandle<()>>>,
    next_follow: AtomicU32,
    notice_hook: Mutex<Option<NoticeHook>>,
    notice: Mutex<Option<(SessionId, Instant)>>,
}

impl Streams {
    /// Has `hook` called for every session the watch sees settle or start waiting for
    /// an approval.
    pub fn on_notice(&self, hook: NoticeHook) {
        *lock(&self.notice_hook) = Some(hook);
    }

    /// Remembers that the user was told about session `id` at `at`.
    pub fn remember_notice(&self, id: SessionId, at: Instant) {
        *lock(&self.notice) = Some((id, at));
    }

    /// The session of the last notice, if it is younger than `within`; forgets it.
    pub fn take_notice(&self, within: Duration) -> Option<SessionId> {
        lock(&self.notice)
            .take()
            .filter(|(_, at)| at.elapsed() <= within)
            .map(|(id, _)| id)
    }

    /// Sends `message` to the dashboard's watch channel, if one is open.
    pub fn tell_dashboard(&self, message: WatchMessage) {
        if let Some(channel) = lock(&self.watch_channel).as_ref() {
            let _ = channel.send(message);
        }
    }

    /// Replaces the watch (a reloaded UI asks again) with one sending to `channel`.
    pub fn watch(&self, state: Arc<AppState>, channel: Channel<WatchMessage>) {
        *lock(&self.watch_channel) = Some(channel.clone());
        let hook = lock(&self.notice_hook).clone();
        let task = tauri::async_runtime::spawn(watch_forever(state, channel, hook));
        if let Some(previous) = lock(&self.watch).replace(task) {
            previous.abort();
        }
    }

    /// Starts following session `id` after `after` into `channel`; returns the stream's number.
    pub fn follow(
        &self,
        state: Arc<AppState>,
        id: SessionId,
        after: Option<u64>,
        channel: Channel<FollowMessage>,
    ) -> u32 {
        let number = self.next_follow.fetch_add(1, Ordering::Relaxed);
        let task = tauri::async_runtime::spawn(async move {
            let error = follow(&state, id, after, &channel).await.err();
            let _ = channel.send(FollowMessage::Closed { error });
        });
        let mut follows = lock(&self.follows);
        follows.retain(|_, task| !task.inner().is_finished());
        follows.insert(number, task);
        number
    }

    /// Stops follow stream `number`; false if it was not open.
    pub fn unfollow(&self, number: u32) -> bool {
        lock(&self.follows)
            .remove(&number)
            .inspect(JoinHandle::abort)
            .is_some()
    }

    /// How many follow streams are open.
    pub fn follows_open(&self) -> usize {
        let mut follows = lock(&self.follows);
        follows.retain(|_, task| !task.inner().is_finished());
        follows.len()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Forwards one follow stream until the session settles or the daemon goes.
async fn follow(
    state: &AppState,
    id: SessionId,
    after: Option<u64>,
    channel: &Channel<FollowMessage>,
) -> Result<(), String> {
    let mut daemon = state.daemon().await.map_err(|error| error.to_string())?;
    daemon
        .follow(id, after)
        .await
        .map_err(|error| error.to_string())?;
    loop {
        match daemon.next_event().await {
            Ok(Some(event)) => {
                let settled = matches!(event, lulu_runtime::protocol::FollowEvent::Settled { .. });
                if channel.send(FollowMessage::Event { event }).is_err() {
                    return Ok(()); // the view is gone
                }
                if settled {
                    return Ok(());
                }
            }
            Ok(None) => return Err("the Lulu daemon went away".to_owned()),
            Err(error) => return Err(error.to_string()),
        }
    }
}

/// Watches the daemon's changes for as long as the app runs, reconnecting when it goes.
async fn watch_forever(
    state: Arc<AppState>,
    channel: Channel<WatchMessage>,
    hook: Option<NoticeHook>,
) {
    let mut statuses = HashMap::new();
    loop {
        let message = match watch_once(&state, &channel, hook.as_ref(), &mut statuses).await {
            Ok(()) => "the Lulu daemon stopped".to_owned(),
            Err(error) => error,
        };
        tracing::info!(%message, "the watch ended; reconnecting");
        if channel
            .send(WatchMessage::Disconnected { message })
            .is_err()
        {
            return;
        }
        tokio::time::sleep(RECONNECT_PAUSE).await;
    }
}

/// One connection's worth of watching: until the daemon goes.
async fn watch_once(
    state: &AppState,
    channel: &Channel<WatchMessage>,
    hook: Option<&NoticeHook>,
    statuses: &mut HashMap<SessionId, lulu_domain::SessionStatus>,
) -> Result<(), String> {
    let mut daemon = state.daemon().await.map_err(|error| error.to_string())?;
    daemon.watch().await.map_err(|error| error.to_string())?;
    channel
        .send(WatchMessage::Connected)
        .map_err(|error| error.to_string())?;
    // What live sessions were doing before this connection: their newest entries.
    let mut pending = live_positions(state).await?;
    let mut tick = tokio::time::interval(ACTIVITY_TICK);
    let mut batch = ChangeBatch::default();
    loop {
        let due = batch.due();
        tokio::select! {
            change = daemon.next_change() => {
                let Some(change) = change.map_err(|error| error.to_string())? else {
                    return Ok(());
                };
                if let Change::Session { session } = &change {
                    tracing::debug!(session = %session.id, status = ?session.status, stored = %session.updated_at, "a session change arrived");
                }
                note(&change, &mut pending, statuses, hook);
                if for_the_page(&change) {
                    if let Some(message) = batch.offer(change, tokio::time::Instant::now()) {
                        channel.send(message).map_err(|error| error.to_string())?;
                    }
                }
            }
            () = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {
                if let Some(message) = batch.take(tokio::time::Instant::now()) {
                    channel.send(message).map_err(|error| error.to_string())?;
                }
            }
            _ = tick.tick(), if !pending.is_empty() => {
                send_activity(state, channel, std::mem::take(&mut pending)).await?;
            }
        }
    }
}

/// The newest transcript position of every live session's active run.
async fn live_positions(state: &AppState) -> Result<HashMap<SessionId, (RunId, u64)>, String> {
    let runtime = state.runtime().await.map_err(|error| error.to_string())?;
    let sessions = runtime
        .list(&lulu_domain::ports::SessionQuery::default())
        .await
        .map_err(|error| error.to_string())?;
    let mut positions = HashMap::new();
    for session in sessions.iter().filter(|session| session.status.is_live()) {
        let Some(run) = session.active_run_id else {
            continue;
        };
        if let Some(last) = runtime
            .last_seq(run)
            .await
            .map_err(|error| error.to_string())?
        {
            positions.insert(session.id, (run, last));
        }
    }
    Ok(positions)
}

/// Whether the page needs `change`. A transcript's growth does not go to it: it only
/// feeds the activity sent every [`ACTIVITY_TICK`], and each message is a script the
/// web view runs in turn, so a busy agent's entries would hold up the status changes
/// queued behind them.
fn for_the_page(change: &Change) -> bool {
    !matches!(change, Change::Transcript { .. })
}

/// Remembers what a change means for activity and notifications.
fn note(
    change: &Change,
    pending: &mut HashMap<SessionId, (RunId, u64)>,
    statuses: &mut HashMap<SessionId, lulu_domain::SessionStatus>,
    hook: Option<&NoticeHook>,
) {
    match change {
        Change::Transcript {
            session_id,
            run_id,
            last_seq,
        } => {
            pending.insert(*session_id, (*run_id, *last_seq));
        }
        Change::Session { session } => {
            let before = statuses.insert(session.id, session.status);
            let settled = before.is_some_and(lulu_domain::SessionStatus::is_live)
                && !session.status.is_live();
            if settled {
                pending.remove(&session.id);
            }
            let asks = session.status == lulu_domain::SessionStatus::NeedsApproval
                && before != Some(session.status);
            if settled || asks {
                if let Some(hook) = hook {
                    hook(session);
                }
            }
        }
        Change::Deleted { id } => {
            statuses.remove(id);
            pending.remove(id);
        }
        Change::Resync => {}
    }
}

/// Reads the newest entry of each session that grew and tells the dashboard what it does.
async fn send_activity(
    state: &AppState,
    channel: &Channel<WatchMessage>,
    pending: HashMap<SessionId, (RunId, u64)>,
) -> Result<(), String> {
    let runtime = state.runtime().await.map_err(|error| error.to_string())?;
    for (session_id, (run_id, last_seq)) in pending {
        let entries = runtime
            .transcript(run_id, last_seq.checked_sub(1), 1)
            .await
            .map_err(|error| error.to_string())?;
        let Some(entry) = entries.first() else {
            continue;
        };
        channel
            .send(WatchMessage::Activity {
                session_id,
                activity: activity(&entry.event),
            })
            .map_err(|error| error.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use lulu_domain::testing::{approval_request, sample_session};
    use lulu_domain::SessionStatus;

    use super::*;

    /// The statuses the hook was called with, for `session` changing through `statuses`.
    fn notices(statuses: &[SessionStatus]) -> Vec<SessionStatus> {
        let heard = Arc::new(Mutex::new(Vec::new()));
        let recorder = Arc::clone(&heard);
        let hook: NoticeHook = Arc::new(move |session: &Session| {
            lock(&recorder).push(session.status);
        });
        let (mut pending, mut known) = (HashMap::new(), HashMap::new());
        let mut session = sample_session(1);
        for status in statuses {
            session.status = *status;
            session.pending_approvals = if *status == SessionStatus::NeedsApproval {
                vec![approval_request("r1", "touch notes.md")]
            } else {
                Vec::new()
            };
            let change = Change::Session {
                session: session.clone(),
            };
            note(&change, &mut pending, &mut known, Some(&hook));
        }
        let heard = lock(&heard).clone();
        heard
    }

    #[test]
    fn the_user_hears_when_a_session_starts_waiting_for_approval_and_when_it_settles() {
        use SessionStatus::{Completed, Idle, NeedsApproval, Running};
        assert_eq!(
            notices(&[
                Running,
                NeedsApproval,
                NeedsApproval,
                Running,
                NeedsApproval,
                Idle
            ]),
            [NeedsApproval, NeedsApproval],
            "once per wait, not per change while it waits; idle is not settled"
        );
        assert_eq!(
            notices(&[NeedsApproval, Running, Idle, Completed]),
            [NeedsApproval, Completed]
        );
        assert_eq!(notices(&[Completed]), [], "a settle seen first is no news");
    }
}
