use std::fmt::Write as _;
use std::time::Duration;

use super::*;
use crate::approval::ApprovalAnswer;
use crate::session::FailureKind;
use crate::testing::{epoch, run_id, sample_session};

fn events() -> Vec<LifecycleEvent> {
    let exit = |outcome, code| LifecycleEvent::RunExited {
        exit: RunExit {
            outcome,
            exit_code: Some(code),
        },
        usage: Some(RunUsage {
            cost_usd: 0.5,
            input_tokens: 100,
            output_tokens: 20,
            num_turns: 1,
            duration_ms: 900,
            permission_denials: 0,
        }),
    };
    vec![
        LifecycleEvent::LaunchRequested,
        LifecycleEvent::Spawned { pid: 4242 },
        LifecycleEvent::LaunchFailed {
            message: "claude not found".into(),
        },
        LifecycleEvent::AgentEstablished,
        exit(RunOutcome::Completed, 0),
        exit(RunOutcome::Interrupted, 0),
        exit(
            RunOutcome::Failed {
                kind: FailureKind::ApiError,
                message: "API Error: 500".into(),
            },
            1,
        ),
        LifecycleEvent::InterruptRequested,
        LifecycleEvent::StopEscalated,
        LifecycleEvent::InterruptDeadlinePassed {
            after: Duration::from_secs(10),
        },
        LifecycleEvent::ResumeRequested {
            run_id: run_id(9),
            prompt: Prompt::parse("and now the docs").unwrap(),
        },
        LifecycleEvent::OwnerLost {
            reason: "owner process 77 died".into(),
        },
        LifecycleEvent::TranscriptLost { lines: 3 },
        LifecycleEvent::ApprovalRequested {
            request: crate::testing::approval_request("r2", "touch b"),
        },
        LifecycleEvent::ApprovalAnswered {
            request_id: "r1".into(),
            answer: ApprovalAnswer::Allow,
        },
        LifecycleEvent::ApprovalDeadlinePassed {
            request_id: "r1".into(),
            after: Duration::from_secs(1800),
        },
        LifecycleEvent::ApprovalCancelled {
            request_id: "r1".into(),
        },
        LifecycleEvent::TurnEnded {
            usage: Some(RunUsage {
                cost_usd: 0.25,
                num_turns: 1,
                ..RunUsage::default()
            }),
        },
        LifecycleEvent::CloseRequested,
    ]
}

fn event_label(event: &LifecycleEvent) -> String {
    match event {
        LifecycleEvent::RunExited { exit, .. } => format!("run_exited({})", exit.outcome.label()),
        other => other.name().to_owned(),
    }
}

fn effect_label(effect: &Effect) -> String {
    match effect {
        Effect::Persist => "persist".into(),
        Effect::Announce => "announce".into(),
        Effect::Launch { mode } => format!("launch({mode:?})").to_lowercase(),
        Effect::Stop(mode) => format!("stop({mode:?})").to_lowercase(),
        Effect::Answer { request, answer } => format!("answer({} {answer})", request.request_id),
        Effect::CloseInput => "close_input".into(),
    }
}

/// The fields a transition changed, besides status and `updated_at`.
fn changes(before: &Session, after: &Session, next: &Transition) -> String {
    let run_change = next.run_change.as_ref();
    let mut notes = Vec::new();
    match &next.approval_change {
        None => {}
        Some(ApprovalChange::Requested(request)) => {
            notes.push(format!("approval+ {}", request.request_id));
        }
        Some(ApprovalChange::Closed {
            request_ids,
            closing,
        }) => notes.push(format!(
            "approval {} {}",
            request_ids.join("+"),
            closing.state_word()
        )),
    }
    if before.resume_count != after.resume_count {
        notes.push(format!("resume_count={}", after.resume_count));
    }
    if before.active_run_id != after.active_run_id {
        notes.push(format!(
            "active_run={}",
            after.active_run_id.map(|id| id.short()).unwrap_or_default()
        ));
    }
    if before.last_resume_at != after.last_resume_at {
        notes.push("last_resume_at=now".into());
    }
    if before.last_error != after.last_error {
        notes.push(match &after.last_error {
            Some(error) => format!("last_error={error:?}"),
            None => "last_error cleared".into(),
        });
    }
    if before.agent_established != after.agent_established {
        notes.push(format!("established={}", after.agent_established));
    }
    if before.totals != after.totals {
        notes.push(format!("cost=${:.4}", after.totals.cost_usd));
    }
    if before.lost_events != after.lost_events {
        notes.push(format!("lost_events={}", after.lost_events));
    }
    match run_change {
        None => {}
        Some(RunChange::Created(run)) => notes.push(format!("run+ {}", run.kind.as_str())),
        Some(RunChange::Spawned { pid, .. }) => notes.push(format!("run pid={pid}")),
        Some(RunChange::Ended {
            outcome, exit_code, ..
        }) => {
            let exit = exit_code.map_or_else(|| "-".to_owned(), |code| code.to_string());
            notes.push(format!("run ended {} exit={exit}", outcome.label()));
        }
    }
    notes.join(", ")
}

#[test]
fn the_whole_transition_table() {
    let mut table = String::from("from           | event                        | result\n");
    table.push_str("---------------|------------------------------|-------\n");
    for status in SessionStatus::ALL {
        let mut session = sample_session(1);
        session.status = status;
        session.last_error = Some("earlier error".into());
        if matches!(
            status,
            SessionStatus::NeedsApproval | SessionStatus::Interrupting
        ) {
            // Both may hold a pending request; the table shows what an answer does to it.
            session
                .pending_approvals
                .push(crate::testing::approval_request("r1", "touch a"));
        }
        for event in events() {
            let label = event_label(&event);
            let cell = match transition(&session, event, epoch() + chrono::Duration::seconds(1)) {
                Err(error) => format!("refused: {error}"),
                Ok(next) => {
                    let effects: Vec<String> = next.effects.iter().map(effect_label).collect();
                    format!(
                        "-> {} [{}] {}",
                        next.session.status,
                        effects.join(", "),
                        changes(&session, &next.session, &next)
                    )
                }
            };
            writeln!(
                table,
                "{:<14} | {label:<28} | {}",
                status.as_str(),
                cell.trim_end()
            )
            .unwrap();
        }
    }
    insta::assert_snapshot!(table);
}

#[test]
fn a_refused_event_changes_nothing() {
    let session = sample_session(1);
    let error = transition(&session, LifecycleEvent::StopEscalated, epoch()).unwrap_err();
    assert_eq!(error.status, SessionStatus::Queued);
    assert_eq!(
        error.to_string(),
        "stop_escalated is not possible while the session is queued"
    );
}

#[test]
fn resume_keeps_the_row_and_counts() {
    let mut session = sample_session(1);
    session.status = SessionStatus::Interrupted;
    session.agent_established = true;
    let now = epoch() + chrono::Duration::minutes(5);
    let prompt = Prompt::parse("continue").unwrap();
    let next = transition(
        &session,
        LifecycleEvent::ResumeRequested {
            run_id: run_id(2),
            prompt,
        },
        now,
    )
    .unwrap();
    assert_eq!(next.session.id, session.id);
    assert_eq!(next.session.resume_count, 1);
    assert_eq!(next.session.active_run_id, Some(run_id(2)));
    assert_eq!(next.session.last_resume_at, Some(now));
    let launch = transition(&next.session, LifecycleEvent::LaunchRequested, now).unwrap();
    assert!(launch.effects.contains(&Effect::Launch {
        mode: ConversationMode::Resume
    }));
}

#[test]
fn a_never_established_conversation_is_launched_fresh_with_the_same_id() {
    let mut session = sample_session(1);
    session.status = SessionStatus::Failed;
    let prompt = Prompt::parse("try again").unwrap();
    let queued = transition(
        &session,
        LifecycleEvent::ResumeRequested {
            run_id: run_id(2),
            prompt,
        },
        epoch(),
    )
    .unwrap()
    .session;
    let launch = transition(&queued, LifecycleEvent::LaunchRequested, epoch()).unwrap();
    assert!(launch.effects.contains(&Effect::Launch {
        mode: ConversationMode::New
    }));
}

#[test]
fn a_failure_while_interrupting_counts_as_interrupted() {
    let mut session = sample_session(1);
    session.status = SessionStatus::Interrupting;
    let exit = RunExit {
        outcome: RunOutcome::Failed {
            kind: FailureKind::Crashed,
            message: "killed by signal 9".into(),
        },
        exit_code: Some(137),
    };
    let next = transition(
        &session,
        LifecycleEvent::RunExited { exit, usage: None },
        epoch(),
    )
    .unwrap();
    assert_eq!(next.session.status, SessionStatus::Interrupted);
    assert_eq!(next.session.last_error, None);
}

#[test]
fn the_timeout_message_names_the_deadline() {
    assert_eq!(
        interrupt_timeout_message(Duration::from_secs(10)),
        "interrupt timed out after 10 s; the agent is still running"
    );
}

#[test]
fn answering_the_last_pending_request_runs_again_and_an_unknown_one_is_refused() {
    let mut session = sample_session(1);
    session.status = SessionStatus::Running;
    let asked = |session: &Session, id: &str| {
        transition(
            session,
            LifecycleEvent::ApprovalRequested {
                request: crate::testing::approval_request(id, "touch x"),
            },
            epoch(),
        )
        .unwrap()
        .session
    };
    let two = asked(&asked(&session, "r1"), "r2");
    assert_eq!(two.status, SessionStatus::NeedsApproval);
    let answer = |session: &Session, id: &str| {
        transition(
            session,
            LifecycleEvent::ApprovalAnswered {
                request_id: id.into(),
                answer: ApprovalAnswer::Deny { message: None },
            },
            epoch(),
        )
    };
    let one = answer(&two, "r1").unwrap();
    assert_eq!(one.session.status, SessionStatus::NeedsApproval);
    assert_eq!(one.session.pending_approvals.len(), 1);
    let none = answer(&one.session, "r2").unwrap();
    assert_eq!(none.session.status, SessionStatus::Running);
    assert!(answer(&none.session, "r2").is_err());
    assert!(answer(&one.session, "r1").is_err());
}

#[test]
fn an_interrupt_deadline_with_a_request_still_pending_returns_to_needs_approval() {
    let mut session = sample_session(1);
    session.status = SessionStatus::Interrupting;
    session
        .pending_approvals
        .push(crate::testing::approval_request("r1", "touch a"));
    let next = transition(
        &session,
        LifecycleEvent::InterruptDeadlinePassed {
            after: Duration::from_secs(10),
        },
        epoch(),
    )
    .unwrap();
    assert_eq!(next.session.status, SessionStatus::NeedsApproval);
}

#[test]
fn a_kept_open_run_goes_idle_at_the_end_of_its_turn_and_runs_again_at_the_next() {
    let mut session = sample_session(1);
    session.status = SessionStatus::Running;
    session.agent_established = true;
    session.options.keep_open = true;
    let idle = transition(&session, LifecycleEvent::TurnEnded { usage: None }, epoch()).unwrap();
    assert_eq!(idle.session.status, SessionStatus::Idle);
    assert_eq!(idle.effects, [Effect::Persist, Effect::Announce]);
    let again = transition(&idle.session, LifecycleEvent::AgentEstablished, epoch()).unwrap();
    assert_eq!(again.session.status, SessionStatus::Running);
    session.options.keep_open = false;
    let unchanged =
        transition(&session, LifecycleEvent::TurnEnded { usage: None }, epoch()).unwrap();
    assert_eq!(unchanged.session.status, SessionStatus::Running);
    assert!(unchanged.effects.is_empty());
}
