//! Changes for the page, sent at once when they come alone and in batches when they
//! come in a burst. Every message is a script the web view runs in turn, and each one
//! redraws the dashboard: ten sessions settling together would otherwise queue dozens
//! of redraws, and the last badge would wait behind all of them.

use std::time::Duration;

use tokio::time::Instant;

use lulu_runtime::protocol::Change;

use crate::views::WatchMessage;

/// After a message, how long further changes gather before the next one goes.
pub const BATCH_WINDOW: Duration = Duration::from_millis(40);

/// Gathers the changes of a burst.
#[derive(Debug, Default)]
pub struct ChangeBatch {
    gathered: Vec<Change>,
    quiet_until: Option<Instant>,
}

impl ChangeBatch {
    /// Takes `change` at `now`: the message to send at once, or `None` when it waits for
    /// [`ChangeBatch::due`].
    pub fn offer(&mut self, change: Change, now: Instant) -> Option<WatchMessage> {
        if self.quiet_until.is_some_and(|until| now < until) {
            self.gathered.push(change);
            return None;
        }
        self.quiet_until = Some(now + BATCH_WINDOW);
        Some(WatchMessage::Change { change })
    }

    /// When the gathered changes are due, if any wait.
    pub fn due(&self) -> Option<Instant> {
        self.quiet_until.filter(|_| !self.gathered.is_empty())
    }

    /// The gathered changes as one message (at `now`, when they are due).
    pub fn take(&mut self, now: Instant) -> Option<WatchMessage> {
        if self.gathered.is_empty() {
            return None;
        }
        self.quiet_until = Some(now + BATCH_WINDOW);
        Some(WatchMessage::Changes {
            changes: std::mem::take(&mut self.gathered),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deleted(n: u128) -> Change {
        Change::Deleted {
            id: format!("00000000-0000-4000-8000-{n:012}")
                .parse()
                .expect("a session id"),
        }
    }

    fn count(message: Option<WatchMessage>) -> usize {
        match message {
            Some(WatchMessage::Change { .. }) => 1,
            Some(WatchMessage::Changes { changes }) => changes.len(),
            _ => 0,
        }
    }

    #[test]
    fn a_lone_change_goes_at_once_and_a_burst_goes_in_one_message() {
        let start = Instant::now();
        let mut batch = ChangeBatch::default();
        assert_eq!(
            count(batch.offer(deleted(1), start)),
            1,
            "the first goes at once"
        );
        assert_eq!(batch.due(), None, "nothing waits");
        for n in 2..=10 {
            assert!(batch.offer(deleted(n), start).is_none(), "a burst waits");
        }
        assert_eq!(batch.due(), Some(start + BATCH_WINDOW));
        assert_eq!(
            count(batch.take(start + BATCH_WINDOW)),
            9,
            "the rest in one message"
        );
        assert_eq!(batch.due(), None);
        assert!(batch.take(start + BATCH_WINDOW).is_none());
        let later = start + BATCH_WINDOW * 3;
        assert_eq!(
            count(batch.offer(deleted(11), later)),
            1,
            "quiet again: at once"
        );
    }
}
