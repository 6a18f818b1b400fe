//! Noticing that the database file was deleted or replaced under a running owner.
//!
//! SQLite keeps writing to the file it opened, so an owner whose file was deleted (or
//! replaced by a new one) would carry on writing where nobody looks while `lulu list`
//! shows another database. An owner therefore checks, about once a second, that its path
//! still names the file it opened; once it does not, the owner says so and stops its
//! sessions (their last transitions still land in the old file, which keeps the agents'
//! stops graceful), and refuses to start new ones.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use lulu_domain::ports::{Clock, StoreError};

/// A cheap check (one `stat`) that the database file is still the one this process opened;
/// the error names the path and says what happened.
pub type DatabaseFileCheck = Arc<dyn Fn() -> Result<(), StoreError> + Send + Sync>;

/// How often an owner checks its database file.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// One runtime's watch on its database file.
#[derive(Default)]
pub(crate) struct DatabaseFileWatch {
    check: OnceLock<DatabaseFileCheck>,
    lost: OnceLock<StoreError>,
}

impl DatabaseFileWatch {
    /// Sets the check; only the first one set counts.
    pub fn set_check(&self, check: DatabaseFileCheck) {
        if self.check.set(check).is_err() {
            tracing::debug!("the database file already has a check");
        }
    }

    /// Whether a check was set.
    pub fn is_set(&self) -> bool {
        self.check.get().is_some()
    }

    /// Why the database file was lost, once noticed.
    pub fn lost(&self) -> Option<&StoreError> {
        self.lost.get()
    }

    /// Checks the file once now (when a check was set); remembers a loss.
    pub fn check_now(&self) -> Option<&StoreError> {
        if let Some(Err(error)) = self.check.get().map(|check| check()) {
            return Some(self.lost.get_or_init(|| error));
        }
        self.lost()
    }

    /// Checks every [`CHECK_EVERY`] until the file is lost (returning why) or `stop` is
    /// cancelled (returning `None`).
    pub async fn wait_until_lost(
        &self,
        clock: &dyn Clock,
        stop: &CancellationToken,
    ) -> Option<StoreError> {
        let check = self.check.get()?;
        loop {
            if let Err(error) = check() {
                return Some(self.lost.get_or_init(|| error).clone());
            }
            tokio::select! {
                () = stop.cancelled() => return None,
                () = clock.sleep_until(clock.monotonic() + CHECK_EVERY) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use lulu_domain::testing::TestClock;

    use super::*;

    fn gone() -> StoreError {
        StoreError::Failed {
            message: "the database file /data/lulu.db was deleted or replaced".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_file_is_checked_until_it_is_lost_and_the_loss_is_kept() {
        let replaced = Arc::new(AtomicBool::new(false));
        let watch = DatabaseFileWatch::default();
        let flag = Arc::clone(&replaced);
        watch.set_check(Arc::new(move || {
            if flag.load(Ordering::SeqCst) {
                Err(gone())
            } else {
                Ok(())
            }
        }));
        let clock = TestClock::new();
        let stop = CancellationToken::new();

        let waiting = watch.wait_until_lost(&clock, &stop);
        tokio::pin!(waiting);
        assert!(
            tokio::time::timeout(Duration::from_millis(10), &mut waiting)
                .await
                .is_err(),
            "the file is there: keep watching"
        );
        assert_eq!(watch.lost(), None);
        replaced.store(true, Ordering::SeqCst);

        assert_eq!(waiting.await, Some(gone()));
        assert_eq!(watch.lost(), Some(&gone()));
    }

    #[tokio::test]
    async fn without_a_check_there_is_nothing_to_watch() {
        let watch = DatabaseFileWatch::default();
        let stop = CancellationToken::new();

        assert_eq!(watch.wait_until_lost(&TestClock::new(), &stop).await, None);
        assert!(!watch.is_set());
    }
}
