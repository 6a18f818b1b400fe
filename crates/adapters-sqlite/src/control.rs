//! The control mailbox: another process asks a session's owner to interrupt, resume,
//! answer, send to or close it,
//! the owner claims the request (exactly one claimer), carries it out and answers.

use chrono::{DateTime, Utc};
use lulu_domain::{ApprovalAnswer, OwnerId, Prompt, SessionId};
use rusqlite::{params, OptionalExtension as _, Row, Transaction};
use serde::{Deserialize, Serialize};

use crate::codec::{self, time_text, UnknownWord};
use crate::error::{not_found, DbError};

pub use lulu_domain::ports::{ControlAction, ControlAnswer, ControlRequest};
pub use lulu_domain::ControlRequestId;

// The mailbox is polled often and is nearly always empty, while an owner may own hundreds
// of sessions: both queries read the unanswered requests first (`CROSS JOIN` fixes the
// order; the claim would otherwise scan every request ever answered to read them by id),
// never the owner's sessions one by one.

/// Whether any unclaimed request waits for a session `?1` owns.
const UNCLAIMED_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM control_requests c \
     CROSS JOIN sessions s ON s.id = c.session_id \
     WHERE c.answered_at IS NULL AND c.claimed_by IS NULL AND s.owner_id = ?1)";

/// The oldest `?2` unclaimed requests for sessions `?1` owns.
const CLAIMABLE: &str = "SELECT c.id, c.session_id, c.action, c.prompt, c.requested_at, c.detail \
     FROM control_requests c INDEXED BY control_requests_unanswered \
     CROSS JOIN sessions s ON s.id = c.session_id \
     WHERE c.answered_at IS NULL AND c.claimed_by IS NULL AND s.owner_id = ?1 \
     ORDER BY c.id LIMIT ?2";

/// Whether an unclaimed request waits for a session `owner` owns: a read, so that polling
/// an empty mailbox never takes the write lock.
pub(crate) fn any_unclaimed(
    transaction: &Transaction<'_>,
    owner: OwnerId,
) -> Result<bool, DbError> {
    Ok(transaction
        .prepare_cached(UNCLAIMED_EXISTS)?
        .query_row([owner.to_string()], |row| row.get::<_, bool>(0))?)
}

/// Leaves a request for the session's owner.
pub(crate) fn enqueue(
    transaction: &Transaction<'_>,
    session_id: SessionId,
    action: &ControlAction,
    now: DateTime<Utc>,
) -> Result<ControlRequestId, DbError> {
    let exists = transaction
        .prepare_cached("SELECT 1 FROM sessions WHERE id = ?1")?
        .exists([session_id.to_string()])?;
    if !exists {
        return Err(not_found(format!("session {session_id}")));
    }
    let (word, prompt, detail) = encode(action)?;
    let id = transaction
        .prepare_cached(
            "INSERT INTO control_requests (session_id, action, prompt, detail, requested_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        )?
        .query_row(
            params![session_id.to_string(), word, prompt, detail, time_text(now)],
            |row| row.get(0),
        )?;
    Ok(ControlRequestId::from_value(id))
}

/// What an answer request carries besides its word.
#[derive(Serialize, Deserialize)]
struct AnswerDetail {
    request_id: Option<String>,
    answer: ApprovalAnswer,
}

/// An action as its word, its prompt column and its detail column (JSON).
fn encode(action: &ControlAction) -> Result<(&'static str, Option<&str>, Option<String>), DbError> {
    Ok(match action {
        ControlAction::Interrupt { mode } => {
            ("interrupt", None, Some(serde_json::to_string(mode)?))
        }
        ControlAction::Resume { prompt } => ("resume", Some(prompt.as_str()), None),
        ControlAction::Answer { request_id, answer } => {
            let detail = AnswerDetail {
                request_id: request_id.clone(),
                answer: answer.clone(),
            };
            ("answer", None, Some(serde_json::to_string(&detail)?))
        }
        ControlAction::Send { message } => ("send", Some(message.as_str()), None),
        ControlAction::Close => ("close", None, None),
    })
}

fn request_from_row(row: &Row<'_>) -> rusqlite::Result<ControlRequest> {
    let word: String = row.get(2)?;
    let action = match word.as_str() {
        // A request stored before modes were (schema version 6) was graceful.
        "interrupt" => ControlAction::Interrupt {
            mode: codec::optional_json(row, 5)?.unwrap_or_default(),
        },
        "resume" => ControlAction::Resume {
            prompt: codec::parsed(row, 3, Prompt::parse)?,
        },
        "answer" => {
            let detail: AnswerDetail = codec::json(row, 5)?;
            ControlAction::Answer {
                request_id: detail.request_id,
                answer: detail.answer,
            }
        }
        "send" => ControlAction::Send {
            message: codec::parsed(row, 3, Prompt::parse)?,
        },
        "close" => ControlAction::Close,
        other => {
            return Err(codec::conversion_failure(2)(UnknownWord::new(
                "control action",
                other,
            )))
        }
    };
    Ok(ControlRequest {
        id: ControlRequestId::from_value(row.get(0)?),
        session_id: codec::from_text(row, 1)?,
        action,
        requested_at: codec::time(row, 4)?,
    })
}

/// Claims up to `limit` unclaimed requests for sessions `owner` owns, oldest first. Run in
/// an IMMEDIATE transaction, so two racing claimers never get the same request.
pub(crate) fn claim(
    transaction: &Transaction<'_>,
    owner: OwnerId,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<Vec<ControlRequest>, DbError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let requests = transaction
        .prepare_cached(CLAIMABLE)?
        .query_map(params![owner.to_string(), limit], request_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut mark = transaction.prepare_cached(
        "UPDATE control_requests SET claimed_by = ?2, claimed_at = ?3 \
         WHERE id = ?1 AND claimed_by IS NULL",
    )?;
    for request in &requests {
        mark.execute(params![
            request.id.value(),
            owner.to_string(),
            time_text(now)
        ])?;
    }
    Ok(requests)
}

/// Answers a request; false if it had been answered already.
pub(crate) fn answer(
    transaction: &Transaction<'_>,
    id: ControlRequestId,
    answer: &ControlAnswer,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let (word, status, code, message) = match answer {
        ControlAnswer::Succeeded { status } => ("succeeded", Some(status.as_str()), None, None),
        ControlAnswer::Refused { code, message } => {
            ("refused", None, Some(code.as_str()), Some(message.as_str()))
        }
    };
    let answered = transaction
        .prepare_cached(
            "UPDATE control_requests SET answered_at = ?2, answer = ?3, answer_status = ?4, \
                 answer_message = ?5, answer_code = ?6 \
             WHERE id = ?1 AND answered_at IS NULL",
        )?
        .execute(params![
            id.value(),
            time_text(now),
            word,
            status,
            message,
            code
        ])?;
    if answered > 0 {
        return Ok(true);
    }
    let exists = transaction
        .prepare_cached("SELECT 1 FROM control_requests WHERE id = ?1")?
        .exists([id.value()])?;
    if !exists {
        return Err(not_found(id.to_string()));
    }
    Ok(false)
}

/// Answers an unclaimed request `refused`/`withdrawn`; `Ok(false)` if an owner has claimed
/// or answered it already.
pub(crate) fn withdraw(
    transaction: &Transaction<'_>,
    id: ControlRequestId,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let withdrawn = transaction
        .prepare_cached(
            "UPDATE control_requests SET answered_at = ?2, answer = 'refused', \
                 answer_code = 'withdrawn', answer_message = 'withdrawn by the requester' \
             WHERE id = ?1 AND claimed_by IS NULL AND answered_at IS NULL",
        )?
        .execute(params![id.value(), time_text(now)])?;
    Ok(withdrawn > 0)
}

/// The answer to a request, once there is one.
pub(crate) fn answer_of(
    transaction: &Transaction<'_>,
    id: ControlRequestId,
) -> Result<Option<ControlAnswer>, DbError> {
    let row = transaction
        .prepare_cached(
            "SELECT answer, answer_status, answer_message, answer_code FROM control_requests \
             WHERE id = ?1",
        )?
        .query_row([id.value()], |row| {
            let answer: Option<String> = row.get(0)?;
            let Some(answer) = answer else {
                return Ok(None);
            };
            if answer == "succeeded" {
                let status = codec::from_text(row, 1)?;
                return Ok(Some(ControlAnswer::Succeeded { status }));
            }
            let message: Option<String> = row.get(2)?;
            let code: Option<String> = row.get(3)?;
            Ok(Some(ControlAnswer::Refused {
                code: code.unwrap_or_else(|| "refused".to_owned()),
                message: message.unwrap_or_default(),
            }))
        })
        .optional()?;
    row.ok_or_else(|| not_found(id.to_string()))
}

/// Refuses (code `owner_gone`), with `message`, every unanswered request whose session has no live owner (no
/// owner, or one whose lease is missing or lapsed at `now`). Returns the refused ids.
pub(crate) fn refuse_orphaned(
    transaction: &Transaction<'_>,
    now: DateTime<Utc>,
    message: &str,
) -> Result<Vec<ControlRequestId>, DbError> {
    let ids = transaction
        .prepare_cached(
            "UPDATE control_requests SET answered_at = ?1, answer = 'refused', \
                 answer_message = ?2, answer_code = 'owner_gone' \
             WHERE answered_at IS NULL AND session_id IN ( \
                 SELECT s.id FROM sessions s LEFT JOIN owners o ON o.owner_id = s.owner_id \
                 WHERE o.owner_id IS NULL OR o.expires_at <= ?1) \
             RETURNING id",
        )?
        .query_map(params![time_text(now), message], |row| row.get(0))?
        .map(|id| id.map(ControlRequestId::from_value))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::{CLAIMABLE, UNCLAIMED_EXISTS};

    /// The steps of SQLite's plan for `sql` on `connection`, its parameters unbound.
    fn plan(connection: &Connection, sql: &str) -> Vec<String> {
        let mut explain = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let unbound = vec![rusqlite::types::Null; explain.parameter_count()];
        explain
            .query_map(rusqlite::params_from_iter(unbound), |row| row.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn the_mailbox_is_read_from_its_unanswered_requests_not_from_the_owners_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.db");
        let mut connection = Connection::open(&path).unwrap();
        crate::migrations::migrate(&mut connection, &path).unwrap();
        for sql in [UNCLAIMED_EXISTS, CLAIMABLE] {
            let steps = plan(&connection, sql);
            let first_table = steps
                .iter()
                .find(|step| step.starts_with("SCAN c") || step.starts_with("SEARCH"))
                .unwrap_or_else(|| panic!("no table step in {steps:?}"));
            assert!(
                first_table.contains("control_requests_unanswered"),
                "{sql}: {steps:?}"
            );
        }
    }
}
