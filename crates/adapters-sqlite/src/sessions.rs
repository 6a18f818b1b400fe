//! Sessions and their runs: one lifecycle transition is one call of [`save`], inside the
//! caller's transaction.

use lulu_domain::lifecycle::RunChange;
use lulu_domain::ports::{SessionQuery, SessionWrite};
use lulu_domain::{ApprovalChange, ApprovalClosing};
use lulu_domain::{
    OwnerId, Prompt, Run, RunId, RunKind, Session, SessionId, SessionTitle, UsageTotals, WorkingDir,
};
use rusqlite::{named_params, params, OptionalExtension as _, Row, Transaction};

use crate::changes;
use crate::codec::{self, time_text, UnknownWord};
use crate::error::{not_found, DbError};
use crate::usage::FilterSql;

/// The session columns [`session_from_row`] reads, in its order.
pub(crate) const SESSION_COLUMNS: &str = "s.id, s.title, s.cwd, s.prompt, s.options, s.status, \
     s.created_at, s.updated_at, s.resume_count, s.active_run_id, s.last_resume_at, \
     s.last_error, s.agent_established, s.cost_usd, s.input_tokens, s.output_tokens, \
     s.num_turns, s.lost_events, s.permission_denials, \
     (SELECT json_group_array(json(a.request) ORDER BY a.key) FROM approvals a \
         WHERE a.session_id = s.id AND a.state = 'pending')";

/// Builds a session from a row selected with [`SESSION_COLUMNS`].
pub(crate) fn session_from_row(row: &Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id: codec::from_text(row, 0)?,
        title: codec::parsed(row, 1, |text| SessionTitle::from_stored(&text))?,
        cwd: codec::parsed(row, 2, WorkingDir::parse)?,
        prompt: codec::parsed(row, 3, Prompt::parse)?,
        options: codec::json(row, 4)?,
        status: codec::from_text(row, 5)?,
        created_at: codec::time(row, 6)?,
        updated_at: codec::time(row, 7)?,
        resume_count: row.get(8)?,
        active_run_id: codec::optional_from_text(row, 9)?,
        last_resume_at: codec::optional_time(row, 10)?,
        last_error: row.get(11)?,
        agent_established: row.get(12)?,
        totals: UsageTotals {
            cost_usd: row.get(13)?,
            input_tokens: row.get(14)?,
            output_tokens: row.get(15)?,
            num_turns: row.get(16)?,
            permission_denials: row.get(18)?,
        },
        lost_events: row.get(17)?,
        pending_approvals: codec::json(row, 19)?,
    })
}

/// Stores the session (stamping `owner` while it is live) and its run change.
pub(crate) fn save(
    transaction: &Transaction<'_>,
    write: &SessionWrite,
    owner: Option<OwnerId>,
) -> Result<(), DbError> {
    let session = &write.session;
    let owner = owner
        .filter(|_| session.status.is_live())
        .map(|owner| owner.to_string());
    let change_seq = changes::next(transaction)?;
    // An upsert, never INSERT OR REPLACE: a replace deletes the row and cascades to its runs.
    transaction
        .prepare_cached(
            "INSERT INTO sessions (id, title, cwd, prompt, options, status, created_at, \
                 updated_at, resume_count, active_run_id, last_resume_at, last_error, \
                 agent_established, cost_usd, input_tokens, output_tokens, num_turns, owner_id, \
                 change_seq, lost_events, permission_denials)
             VALUES (:id, :title, :cwd, :prompt, :options, :status, :created_at, :updated_at, \
                 :resume_count, :active_run_id, :last_resume_at, :last_error, \
                 :agent_established, :cost_usd, :input_tokens, :output_tokens, :num_turns, \
                 :owner_id, :change_seq, :lost_events, :permission_denials)
             ON CONFLICT (id) DO UPDATE SET title = excluded.title, cwd = excluded.cwd, \
                 prompt = excluded.prompt, options = excluded.options, \
                 status = excluded.status, created_at = excluded.created_at, \
                 updated_at = excluded.updated_at, resume_count = excluded.resume_count, \
                 active_run_id = excluded.active_run_id, \
                 last_resume_at = excluded.last_resume_at, last_error = excluded.last_error, \
                 agent_established = excluded.agent_established, \
                 cost_usd = excluded.cost_usd, input_tokens = excluded.input_tokens, \
                 output_tokens = excluded.output_tokens, num_turns = excluded.num_turns, \
                 owner_id = excluded.owner_id, change_seq = excluded.change_seq, \
                 lost_events = excluded.lost_events, \
                 permission_denials = excluded.permission_denials",
        )?
        .execute(named_params! {
            ":id": session.id.to_string(),
            ":title": session.title.as_str(),
            ":cwd": session.cwd.as_str(),
            ":prompt": session.prompt.as_str(),
            ":options": serde_json::to_string(&session.options)?,
            ":status": session.status.as_str(),
            ":created_at": time_text(session.created_at),
            ":updated_at": time_text(session.updated_at),
            ":resume_count": session.resume_count,
            ":active_run_id": session.active_run_id.map(|id| id.to_string()),
            ":last_resume_at": session.last_resume_at.map(time_text),
            ":last_error": session.last_error,
            ":agent_established": session.agent_established,
            ":cost_usd": session.totals.cost_usd,
            ":input_tokens": session.totals.input_tokens,
            ":output_tokens": session.totals.output_tokens,
            ":num_turns": session.totals.num_turns,
            ":owner_id": owner,
            ":change_seq": change_seq,
            ":lost_events": session.lost_events,
            ":permission_denials": session.totals.permission_denials,
        })?;
    if let Some(change) = &write.approval_change {
        save_approval_change(transaction, session, change)?;
    }
    match &write.run_change {
        None => Ok(()),
        Some(RunChange::Created(run)) => insert_run(transaction, run),
        Some(RunChange::Spawned { run_id, pid }) => {
            let changed = transaction
                .prepare_cached("UPDATE runs SET pid = ?2 WHERE id = ?1")?
                .execute(params![run_id.to_string(), pid])?;
            require_run(changed, *run_id)
        }
        Some(RunChange::Ended {
            run_id,
            ended_at,
            outcome,
            exit_code,
        }) => {
            let changed = transaction
                .prepare_cached(
                    "UPDATE runs SET ended_at = ?2, outcome = ?3, exit_code = ?4 WHERE id = ?1",
                )?
                .execute(params![
                    run_id.to_string(),
                    time_text(*ended_at),
                    serde_json::to_string(outcome)?,
                    exit_code
                ])?;
            require_run(changed, *run_id)
        }
    }
}

/// Stores a new permission request, or closes pending ones. An answer must find its
/// request still pending (the conditional UPDATE is what makes exactly one of two answers
/// win); other closings skip requests already closed.
fn save_approval_change(
    transaction: &Transaction<'_>,
    session: &Session,
    change: &ApprovalChange,
) -> Result<(), DbError> {
    match change {
        ApprovalChange::Requested(request) => {
            transaction
                .prepare_cached(
                    "INSERT INTO approvals (session_id, request_id, request, state, requested_at)
                     VALUES (?1, ?2, ?3, 'pending', ?4)",
                )?
                .execute(params![
                    session.id.to_string(),
                    request.request_id,
                    serde_json::to_string(request)?,
                    time_text(request.requested_at),
                ])?;
        }
        ApprovalChange::Closed {
            request_ids,
            closing,
        } => {
            let answer = match closing {
                ApprovalClosing::Answered(answer) => Some(serde_json::to_string(answer)?),
                ApprovalClosing::Cancelled | ApprovalClosing::Cleared => None,
            };
            let mut close = transaction.prepare_cached(
                "UPDATE approvals SET state = ?3, answer = ?4, closed_at = ?5 \
                 WHERE session_id = ?1 AND request_id = ?2 AND state = 'pending'",
            )?;
            for request_id in request_ids {
                let closed = close.execute(params![
                    session.id.to_string(),
                    request_id,
                    closing.state_word(),
                    answer,
                    time_text(session.updated_at),
                ])?;
                if closed == 0 && answer.is_some() {
                    return Err(not_found(format!(
                        "a pending permission request {request_id} of session {}",
                        session.id
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The run's compact key (what transcript and process rows point at), or `NotFound`.
pub(crate) fn run_key(transaction: &Transaction<'_>, run_id: RunId) -> Result<i64, DbError> {
    transaction
        .prepare_cached("SELECT key FROM runs WHERE id = ?1")?
        .query_row([run_id.to_string()], |row| row.get(0))
        .optional()?
        .ok_or_else(|| not_found(format!("run {run_id}")))
}

fn require_run(changed: usize, run_id: RunId) -> Result<(), DbError> {
    if changed == 0 {
        return Err(not_found(format!("run {run_id}")));
    }
    Ok(())
}

fn run_kind(text: &str) -> Result<RunKind, UnknownWord> {
    [RunKind::Start, RunKind::Resume]
        .into_iter()
        .find(|kind| kind.as_str() == text)
        .ok_or_else(|| UnknownWord::new("run kind", text))
}

fn insert_run(transaction: &Transaction<'_>, run: &Run) -> Result<(), DbError> {
    transaction
        .prepare_cached(
            "INSERT INTO runs (id, session_id, kind, prompt, pid, started_at, ended_at, outcome, \
                 exit_code, options, model, cli_version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?
        .execute(params![
            run.id.to_string(),
            run.session_id.to_string(),
            run.kind.as_str(),
            run.prompt.as_str(),
            run.pid,
            time_text(run.started_at),
            run.ended_at.map(time_text),
            run.outcome
                .as_ref()
                .map(serde_json::to_string)
                .transpose()?,
            run.exit_code,
            serde_json::to_string(&run.options)?,
            run.model,
            run.cli_version,
        ])?;
    Ok(())
}

/// One session, if stored.
pub(crate) fn get(
    transaction: &Transaction<'_>,
    id: SessionId,
) -> Result<Option<Session>, DbError> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id = ?1");
    Ok(transaction
        .prepare_cached(&sql)?
        .query_row([id.to_string()], session_from_row)
        .optional()?)
}

/// Sessions, newest `updated_at` first.
pub(crate) fn list(
    transaction: &Transaction<'_>,
    query: &SessionQuery,
) -> Result<Vec<Session>, DbError> {
    // A number in the text, not a parameter: SQLite re-prepares a statement whose LIMIT
    // parameter is bound again (it plans with its value), which costs a page of a long
    // listing more than a statement of its own per page size.
    let limit = query
        .limit
        .map_or(-1, |limit| i64::try_from(limit).unwrap_or(i64::MAX));
    let filter = FilterSql::ordered(&query.filter);
    let after_time = query.after.map(|cursor| time_text(cursor.updated_at));
    let after_id = query.after.map(|cursor| cursor.id.to_string());
    let mut extra: Vec<(&'static str, &dyn rusqlite::ToSql)> = Vec::new();
    // Each shape its own statement, so the planner sees no condition it cannot use. The
    // cursor is a range of `sessions_by_updated_at` (updated_at, id).
    let page = match (&after_time, &after_id) {
        (Some(time), Some(id)) => {
            extra.extend([
                (":after_time", time as &dyn rusqlite::ToSql),
                (":after_id", id),
            ]);
            " AND (s.updated_at, s.id) < (:after_time, :after_id)"
        }
        _ => "",
    };
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM sessions s WHERE {}{page} \
         ORDER BY s.updated_at DESC, s.id DESC LIMIT {limit}",
        filter.condition
    );
    let mut statement = transaction.prepare_cached(&sql)?;
    let rows = statement.query_map(filter.params(&extra).as_slice(), session_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// A session's runs, oldest first.
pub(crate) fn runs(
    transaction: &Transaction<'_>,
    session_id: SessionId,
) -> Result<Vec<Run>, DbError> {
    let mut statement = transaction.prepare_cached(
        "SELECT r.id, r.session_id, r.kind, r.prompt, r.pid, r.started_at, r.ended_at, \
                r.outcome, r.exit_code, coalesce(r.options, s.options), r.model, r.cli_version \
         FROM runs r JOIN sessions s ON s.id = r.session_id \
         WHERE r.session_id = ?1 ORDER BY r.started_at, r.key",
    )?;
    let rows = statement.query_map([session_id.to_string()], |row| {
        Ok(Run {
            id: codec::from_text(row, 0)?,
            session_id: codec::from_text(row, 1)?,
            kind: codec::parsed(row, 2, |text| run_kind(&text))?,
            prompt: codec::parsed(row, 3, Prompt::parse)?,
            pid: row.get(4)?,
            started_at: codec::time(row, 5)?,
            ended_at: codec::optional_time(row, 6)?,
            outcome: codec::optional_json(row, 7)?,
            exit_code: row.get(8)?,
            options: codec::json(row, 9)?,
            model: row.get(10)?,
            cli_version: row.get(11)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The process that owns a session, if it is live and owned.
pub(crate) fn owner(
    transaction: &Transaction<'_>,
    id: SessionId,
) -> Result<Option<OwnerId>, DbError> {
    let owner = transaction
        .prepare_cached("SELECT owner_id FROM sessions WHERE id = ?1")?
        .query_row([id.to_string()], |row| codec::optional_from_text(row, 0))
        .optional()?;
    Ok(owner.flatten())
}

/// Deletes a session with everything that hangs off it; false if there was none.
pub(crate) fn delete(transaction: &Transaction<'_>, id: SessionId) -> Result<bool, DbError> {
    let deleted = transaction
        .prepare_cached("DELETE FROM sessions WHERE id = ?1")?
        .execute([id.to_string()])?;
    if deleted == 0 {
        return Ok(false);
    }
    changes::record_deletion(transaction, id)?;
    Ok(true)
}
