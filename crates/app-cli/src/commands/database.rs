//! The database as a command that mostly talks to the daemon needs it: opened only when
//! something must be read from it, and then while the command goes on with other work.

use std::sync::Arc;

use anyhow::Context as _;
use tokio::task::JoinHandle;

use lulu_domain::SessionId;
use lulu_runtime::Runtime;

use super::Context;

/// The database of a command: the caller's, not opened yet, being opened, or open.
pub enum Database<'a> {
    /// Opened by the caller.
    Given(&'a Runtime),
    /// Not opened yet: [`get`](Self::get) opens it.
    Closed(&'a Context),
    /// Being opened by a task of its own.
    Opening(Option<JoinHandle<anyhow::Result<Arc<Runtime>>>>),
    /// Open.
    Opened(Arc<Runtime>),
}

impl<'a> Database<'a> {
    /// `runtime` if the caller has one, else the database opened from now on, in the
    /// background.
    pub fn opening(context: &Context, runtime: Option<&'a Runtime>) -> Self {
        match runtime {
            Some(runtime) => Self::Given(runtime),
            None => Self::Opening(Some(context.open_in_background())),
        }
    }

    /// The database opened only once [`get`](Self::get) needs it.
    pub fn when_needed(context: &'a Context) -> Self {
        Self::Closed(context)
    }

    /// Starts opening it now if that is `likely` to be needed.
    pub fn start_if(&mut self, likely: bool) {
        if let (true, Self::Closed(context)) = (likely, &*self) {
            *self = Self::Opening(Some(context.open_in_background()));
        }
    }

    /// The open database, opening it or waiting for it if need be.
    pub async fn get(&mut self) -> anyhow::Result<&Runtime> {
        self.start_if(true);
        if let Self::Opening(opening) = self {
            let opening = opening.take().context("the database was opened once")?;
            *self = Self::Opened(opening.await??);
        }
        match self {
            Self::Given(runtime) => Ok(runtime),
            Self::Opened(runtime) => Ok(runtime),
            Self::Closed(_) | Self::Opening(_) => anyhow::bail!("the database could not be opened"),
        }
    }

    /// The session `typed` names: a whole id as it is (the daemon says if it is unknown),
    /// a prefix looked up in the database.
    pub async fn resolve(&mut self, typed: &str) -> anyhow::Result<SessionId> {
        match typed.trim().parse::<SessionId>() {
            Ok(id) => Ok(id),
            Err(_) => Ok(self.get().await?.resolve(typed).await?),
        }
    }
}

/// Whether `typed` needs the database to name a session (it is not a whole id).
pub fn is_prefix(typed: &str) -> bool {
    typed.trim().parse::<SessionId>().is_err()
}
