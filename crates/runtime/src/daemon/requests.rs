//! What the daemon does for each request.

use lulu_domain::{InterruptMode, Prompt, SessionSpec, SessionTitle, WorkingDir};

use super::serve::Daemon;
use crate::error::RuntimeError;
use crate::protocol::{DaemonStatus, Hello, Request, Response};

impl Daemon {
    /// Carries out `request`; a failure becomes an error response with its code.
    pub(super) async fn handle(&self, request: Request) -> Response {
        let _open = self.gate.read().await;
        if self.stopping.is_cancelled() {
            return Response::Error {
                code: "daemon_stopping".to_owned(),
                message: "the daemon is stopping and takes no more requests".to_owned(),
            };
        }
        match self.carry_out(request).await {
            Ok(response) => response,
            Err(error) => Response::Error {
                code: error.code().to_owned(),
                message: error.to_string(),
            },
        }
    }

    async fn carry_out(&self, request: Request) -> Result<Response, RuntimeError> {
        let runtime = &self.runtime;
        Ok(match request {
            Request::Start {
                title,
                cwd,
                prompt,
                options,
            } => {
                let spec = SessionSpec {
                    title: title.as_deref().map(SessionTitle::parse).transpose()?,
                    cwd: WorkingDir::parse(cwd)?,
                    prompt: Prompt::parse(prompt)?,
                    options: options.validate()?,
                };
                Response::Session {
                    session: runtime.start(spec).await?,
                }
            }
            Request::Resume {
                id,
                prompt,
                options,
            } => Response::Session {
                session: runtime
                    .resume(id, Prompt::parse(prompt)?, options.validate()?)
                    .await?,
            },
            Request::Interrupt { id, force } => {
                let mode = if force {
                    InterruptMode::Immediate
                } else {
                    InterruptMode::Graceful
                };
                Response::InterruptOutcome(runtime.interrupt(id, mode).await?)
            }
            Request::Answer {
                id,
                request_id,
                answer,
            } => Response::Session {
                session: runtime.answer(id, request_id, answer).await?,
            },
            Request::Send { id, text } => Response::Session {
                session: runtime.send(id, Prompt::parse(text)?).await?,
            },
            Request::Close { id } => Response::Session {
                session: runtime.close(id).await?,
            },
            Request::Delete { id, force } => {
                runtime.delete(id, force).await?;
                Response::Deleted
            }
            Request::Follow { .. } | Request::Watch => {
                return Err(RuntimeError::Daemon(
                    "a stream was asked for as a request with one answer".to_owned(),
                ))
            }
            Request::Status => Response::Status {
                status: self.status(),
            },
            Request::Shutdown { force } => {
                let live = runtime.live_sessions().len();
                if live > 0 && !force {
                    return Err(RuntimeError::Refused {
                        code: "runs_live".to_owned(),
                        message: format!(
                            "the daemon owns {live} live run(s); stopping it would interrupt them (they stay resumable)"
                        ),
                    });
                }
                self.stopping.cancel();
                Response::ShuttingDown { interrupting: live }
            }
        })
    }

    fn status(&self) -> DaemonStatus {
        let paths = &self.options.paths;
        DaemonStatus {
            pid: std::process::id(),
            hello: Hello::current(),
            db: paths.db.clone(),
            socket: paths.socket.clone(),
            log: paths.log.clone(),
            claude_bin: self.runtime.config().claude_bin.clone(),
            live: self.runtime.live_sessions(),
            clients: self.clients.load(std::sync::atomic::Ordering::SeqCst),
        }
    }
}
