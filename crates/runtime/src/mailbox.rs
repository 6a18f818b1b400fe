//! The control mailbox: owners carry out requests aimed at their sessions; requesters wait
//! for the answer.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn, Instrument};

use lulu_domain::ports::{Clock, ControlAction, ControlAnswer, ControlRequest, ControlStore};
use lulu_domain::SessionSupervisor;

use crate::error::supervisor_code;

/// Claims and carries out requests for this owner's sessions until `stop` is cancelled;
/// then finishes (and answers) every request already claimed before it returns, so an
/// owner that shuts down never leaves a requester waiting for nothing.
pub async fn serve(
    supervisor: SessionSupervisor,
    control: Arc<dyn ControlStore>,
    clock: Arc<dyn Clock>,
    poll: Duration,
    stop: CancellationToken,
) {
    let mut in_flight = JoinSet::new();
    loop {
        while in_flight.try_join_next().is_some() {}
        tokio::select! {
            () = stop.cancelled() => break,
            () = clock.sleep_until(clock.monotonic() + poll) => {}
        }
        let requests = match control.claim_controls().await {
            Ok(requests) => requests,
            Err(error) => {
                warn!(%error, "could not read control requests");
                continue;
            }
        };
        for request in requests {
            let span = tracing::info_span!("control", session_id = %request.session_id, request_id = %request.id);
            let task = carry_out(supervisor.clone(), Arc::clone(&control), request);
            in_flight.spawn(task.instrument(span));
        }
    }
    while in_flight.join_next().await.is_some() {}
}

async fn carry_out(
    supervisor: SessionSupervisor,
    control: Arc<dyn ControlStore>,
    request: ControlRequest,
) {
    debug!(action = ?request.action, "carrying out a control request");
    let id = request.session_id;
    let result = match request.action {
        ControlAction::Interrupt { mode } => supervisor.interrupt_in_mode(id, mode).await,
        ControlAction::Resume { prompt } => {
            // A resume through the mailbox carries no option overrides (see `Runtime::resume`).
            let overrides = lulu_domain::OptionOverrides::default();
            supervisor.resume(id, prompt, overrides).await
        }
        ControlAction::Answer { request_id, answer } => {
            supervisor.answer(id, request_id, answer).await
        }
        ControlAction::Send { message } => supervisor.send(id, message).await,
        ControlAction::Close => supervisor.close(id).await,
    };
    let answer = match result {
        Ok(session) => ControlAnswer::Succeeded {
            status: session.status,
        },
        Err(error) => ControlAnswer::Refused {
            code: supervisor_code(&error).to_owned(),
            message: error.to_string(),
        },
    };
    if let Err(error) = control.answer_control(request.id, &answer).await {
        warn!(%error, "could not answer a control request");
    }
}
