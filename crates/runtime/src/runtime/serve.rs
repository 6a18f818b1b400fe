//! Serving as an owner: the lease, the mailbox, recovery, reaping, the database file
//! watch, and the graceful stop.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use lulu_domain::{SessionId, SupervisorError};

use super::Runtime;
use crate::error::RuntimeError;
use crate::mailbox;

/// How often an owner reaps the children it adopted.
const REAP_PERIOD: Duration = Duration::from_millis(250);

impl Runtime {
    /// Makes this process an owner: takes a lease and keeps it renewed, serves control
    /// requests for its sessions, and keeps recovering orphans (so a dead owner's queued
    /// sessions never hold up the run slots). It also reaps every zombie child that is not
    /// an agent the launcher spawned, so a serving process must start no other children
    /// it waits for itself.
    ///
    /// # Errors
    /// [`RuntimeError::Store`] when the lease cannot be stored.
    pub async fn serve(self: &Arc<Self>) -> Result<(), RuntimeError> {
        // Tools the agent orphans come back to this process, to be killed and reaped.
        if let Err(error) = lulu_adapters_cli::become_child_subreaper() {
            warn!(%error, "could not become a child subreaper; orphaned tools go to init");
        }
        self.renew_lease().await?;
        let mut background = self
            .background
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mailbox = mailbox::serve(
            self.parts.supervisor.clone(),
            Arc::clone(&self.parts.control),
            Arc::clone(&self.parts.clock),
            self.config.poll_interval,
            self.stop.clone(),
        );
        background.push(tokio::spawn(mailbox));
        background.push(tokio::spawn(Arc::clone(self).keep_lease()));
        background.push(tokio::spawn(Arc::clone(self).keep_recovering()));
        background.push(tokio::spawn(Arc::clone(self).keep_reaping()));
        if self.database_file.is_set() {
            background.push(tokio::spawn(Arc::clone(self).watch_database()));
        }
        Ok(())
    }

    /// Reaps the children this process adopts as a subreaper (orphaned tools, recorded
    /// or not; never an agent the launcher waits for), until shutdown, so no zombie
    /// stays while it lives.
    async fn keep_reaping(self: Arc<Self>) {
        self.every(REAP_PERIOD, || async {
            let _ = tokio::task::spawn_blocking(lulu_adapters_cli::reap_adopted_children).await;
        })
        .await;
    }

    /// Checks the database file until shutdown; once it is lost, stops every session.
    async fn watch_database(self: Arc<Self>) {
        let clock = Arc::clone(&self.parts.clock);
        let Some(error) = self
            .database_file
            .wait_until_lost(clock.as_ref(), &self.stop)
            .await
        else {
            return;
        };
        let live = self.parts.supervisor.live_sessions().len();
        tracing::error!(%error, live, "stopping this process's sessions");
        self.stop_live_sessions().await;
    }

    /// Interrupts every live session this process owns, all at once, and again for those
    /// that could not be interrupted yet (still starting), until none is left or twice
    /// the interrupt deadline has passed.
    async fn stop_live_sessions(&self) {
        let clock = Arc::clone(&self.parts.clock);
        let began = clock.monotonic();
        let patience = self.config.interrupt.deadline() * 2;
        loop {
            let live = self.parts.supervisor.live_sessions();
            if live.is_empty() {
                return;
            }
            if clock.monotonic() - began > patience {
                warn!(
                    left = live.len(),
                    "sessions still live after the stop deadline"
                );
                return;
            }
            let mut interrupts = tokio::task::JoinSet::new();
            for id in live {
                let supervisor = self.parts.supervisor.clone();
                interrupts.spawn(async move { (id, supervisor.interrupt(id).await) });
            }
            while let Some(done) = interrupts.join_next().await {
                if let Ok((id, Err(error))) = done {
                    info!(session_id = %id, %error, "a session could not be stopped yet");
                }
            }
            clock
                .sleep_until(clock.monotonic() + self.config.poll_interval)
                .await;
        }
    }

    async fn renew_lease(&self) -> Result<(), RuntimeError> {
        let now = self.parts.clock.now();
        let ttl = chrono::Duration::from_std(self.config.lease_ttl)
            .unwrap_or(chrono::Duration::seconds(5));
        let lease = self.parts.identity.lease(now, now + ttl);
        self.parts.control.put_lease(&lease).await?;
        Ok(())
    }

    /// Renews the lease a few times per TTL, until shutdown. A task of its own, so no
    /// recovery pass (or anything else this owner does) delays it. The lease is stored
    /// whole each time: a row dropped meanwhile is restored.
    async fn keep_lease(self: Arc<Self>) {
        self.every(self.config.lease_ttl / 3, || async {
            if let Err(error) = self.renew_lease().await {
                warn!(%error, "could not renew the owner lease");
            }
        })
        .await;
    }

    /// Recovers orphans a few times per lease TTL, until shutdown.
    async fn keep_recovering(self: Arc<Self>) {
        self.every(self.config.lease_ttl / 3, || async {
            if let Err(error) = self.recover().await {
                warn!(%error, "recovery pass failed");
            }
        })
        .await;
    }

    /// Runs `pass` every `period` until shutdown.
    async fn every<F, Fut>(&self, period: Duration, pass: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let clock = Arc::clone(&self.parts.clock);
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return,
                () = clock.sleep_until(clock.monotonic() + period) => {}
            }
            pass().await;
        }
    }

    /// Stops serving: interrupts the sessions this process still owns (all at once), then
    /// drops the lease.
    /// Returns the sessions it could not interrupt, with why.
    pub async fn shutdown(&self) -> Vec<(SessionId, RuntimeError)> {
        let mut failed = Vec::new();
        // All at once: a daemon may own dozens, each with up to the interrupt deadline.
        let mut interrupts = tokio::task::JoinSet::new();
        for id in self.parts.supervisor.live_sessions() {
            let supervisor = self.parts.supervisor.clone();
            interrupts.spawn(async move { (id, supervisor.interrupt(id).await) });
        }
        while let Some(done) = interrupts.join_next().await {
            let Ok((id, interrupted)) = done else {
                continue;
            };
            match interrupted {
                Ok(_) => {}
                // Its end was being stored as we looked: it settled on its own, nothing
                // is left to stop (the supervisor forgets a session only after that).
                Err(SupervisorError::NotRunning { status, .. }) if !status.is_live() => {
                    debug!(session_id = %id, %status, "a session settled on its own at shutdown");
                }
                Err(error) => {
                    warn!(session_id = %id, %error, "could not interrupt a session at shutdown");
                    failed.push((id, error.into()));
                }
            }
        }
        // An interrupt settles at the turn's end; its agent may still be exiting.
        let reaped = self.parts.supervisor.runs_reaped();
        if tokio::time::timeout(self.config.interrupt.deadline(), reaped)
            .await
            .is_err()
        {
            warn!("an interrupted agent was still exiting at the shutdown deadline");
        }
        self.stop.cancel();
        let background: Vec<JoinHandle<()>> = std::mem::take(
            &mut *self
                .background
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for task in background {
            let _ = task.await;
        }
        if let Err(error) = self.parts.control.drop_lease().await {
            warn!(%error, "could not drop the owner lease");
        }
        failed
    }
}
