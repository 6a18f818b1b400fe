//! The client side of the daemon's socket: connect (starting the daemon when none
//! runs), exchange hellos, send requests.

mod connect;

use tokio::io::{AsyncWriteExt as _, BufReader, Lines};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

pub use connect::{connect, connect_or_start, request_starting, DaemonStarter};

use lulu_domain::{Session, SessionId};

use crate::error::RuntimeError;
use crate::protocol::{
    Change, DaemonStatus, FollowEvent, Hello, InterruptOutcome, Request, Response,
};

/// A connection to a database's daemon, hellos exchanged.
pub struct DaemonClient {
    lines: Lines<BufReader<OwnedReadHalf>>,
    write: OwnedWriteHalf,
    daemon: Hello,
}

impl DaemonClient {
    /// The daemon's hello.
    pub fn daemon(&self) -> &Hello {
        &self.daemon
    }

    /// Sends `request` and reads its response; an error response becomes
    /// [`RuntimeError::Refused`] with the daemon's code and message.
    ///
    /// # Errors
    /// The daemon's refusal, or [`RuntimeError::Daemon`] when the connection fails.
    pub async fn request(&mut self, request: &Request) -> Result<Response, RuntimeError> {
        send(&mut self.write, request).await?;
        match receive::<Response>(&mut self.lines).await? {
            Response::Error { code, message } => Err(RuntimeError::Refused { code, message }),
            response => Ok(response),
        }
    }

    /// Interrupts session `id` through the daemon (`force`: skip the grace period) and
    /// waits for the outcome.
    ///
    /// # Errors
    /// As [`request`](Self::request); `interrupt_timed_out` when the agent still ran at
    /// the deadline.
    pub async fn interrupt(
        &mut self,
        id: SessionId,
        force: bool,
    ) -> Result<InterruptOutcome, RuntimeError> {
        match self.request(&Request::Interrupt { id, force }).await? {
            Response::InterruptOutcome(outcome) => Ok(outcome),
            other => Err(unexpected(&other)),
        }
    }

    /// Asks for a session-returning request (start, resume).
    ///
    /// # Errors
    /// As [`request`](Self::request).
    pub async fn session(&mut self, request: &Request) -> Result<Session, RuntimeError> {
        match self.request(request).await? {
            Response::Session { session } => Ok(session),
            other => Err(unexpected(&other)),
        }
    }

    /// Deletes a session through the daemon.
    ///
    /// # Errors
    /// As [`request`](Self::request).
    pub async fn delete(&mut self, id: SessionId, force: bool) -> Result<(), RuntimeError> {
        match self.request(&Request::Delete { id, force }).await? {
            Response::Deleted => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// The daemon's state.
    ///
    /// # Errors
    /// As [`request`](Self::request).
    pub async fn status(&mut self) -> Result<DaemonStatus, RuntimeError> {
        match self.request(&Request::Status).await? {
            Response::Status { status } => Ok(status),
            other => Err(unexpected(&other)),
        }
    }

    /// Asks the daemon to stop; returns how many live runs it interrupts.
    ///
    /// # Errors
    /// As [`request`](Self::request); `runs_live` when it has live runs and not `force`.
    pub async fn shutdown(&mut self, force: bool) -> Result<usize, RuntimeError> {
        match self.request(&Request::Shutdown { force }).await? {
            Response::ShuttingDown { interrupting } => Ok(interrupting),
            other => Err(unexpected(&other)),
        }
    }

    /// Asks to follow session `id` (entries after `after` of its active run); read the
    /// events with [`next_event`](Self::next_event).
    ///
    /// # Errors
    /// [`RuntimeError::Daemon`] when the request cannot be sent.
    pub async fn follow(&mut self, id: SessionId, after: Option<u64>) -> Result<(), RuntimeError> {
        send(&mut self.write, &Request::Follow { id, after }).await
    }

    /// The next event of a followed session; `None` once the daemon is gone (it died,
    /// or stopped: the database then tells how the session ended).
    ///
    /// # Errors
    /// The daemon's refusal (an unknown session, say), or an answer not understood.
    pub async fn next_event(&mut self) -> Result<Option<FollowEvent>, RuntimeError> {
        match receive::<Response>(&mut self.lines).await {
            Ok(Response::Event { event }) => Ok(Some(event)),
            Ok(Response::Error { code, message }) => Err(RuntimeError::Refused { code, message }),
            Ok(other) => Err(unexpected(&other)),
            Err(RuntimeError::Daemon(reason)) => {
                tracing::info!(%reason, "the followed daemon is gone");
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// Asks for every change to any session (by the daemon or by another process sharing
    /// its database); returns once subscribed: every change stored from then on is told.
    /// Read them with [`next_change`](Self::next_change).
    ///
    /// # Errors
    /// The daemon's refusal, or [`RuntimeError::Daemon`] when the connection fails.
    pub async fn watch(&mut self) -> Result<(), RuntimeError> {
        match self.request(&Request::Watch).await? {
            Response::Watching => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// The next change a watcher is told of; `None` once the daemon is gone.
    ///
    /// # Errors
    /// An answer not understood.
    pub async fn next_change(&mut self) -> Result<Option<Change>, RuntimeError> {
        match receive::<Response>(&mut self.lines).await {
            Ok(Response::Change { change }) => Ok(Some(change)),
            Ok(Response::Error { code, message }) => Err(RuntimeError::Refused { code, message }),
            Ok(other) => Err(unexpected(&other)),
            Err(RuntimeError::Daemon(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Waits until the daemon has closed this connection (it does once it has stopped).
    pub async fn closed(mut self) {
        while let Ok(Some(_)) = self.lines.next_line().await {}
    }
}

fn unexpected(response: &Response) -> RuntimeError {
    RuntimeError::Daemon(format!(
        "the daemon answered something unexpected: {response:?}"
    ))
}

async fn send(
    write: &mut OwnedWriteHalf,
    message: &impl serde::Serialize,
) -> Result<(), RuntimeError> {
    let mut line = serde_json::to_vec(message)
        .map_err(|error| RuntimeError::Daemon(format!("cannot encode a request: {error}")))?;
    line.push(b'\n');
    write
        .write_all(&line)
        .await
        .map_err(|error| RuntimeError::Daemon(format!("cannot write to the daemon: {error}")))
}

async fn receive<T: serde::de::DeserializeOwned>(
    lines: &mut Lines<BufReader<OwnedReadHalf>>,
) -> Result<T, RuntimeError> {
    let line = lines
        .next_line()
        .await
        .map_err(|error| RuntimeError::Daemon(format!("cannot read from the daemon: {error}")))?
        .ok_or_else(|| {
            RuntimeError::Daemon("the daemon closed the connection before answering".to_owned())
        })?;
    serde_json::from_str(&line).map_err(|error| {
        RuntimeError::Daemon(format!("the daemon's answer is not understood: {error}"))
    })
}
