//! Resume, recovery, delete, refusals of a busy, unknown or idle session.

use super::*;

#[tokio::test(start_paused = true)]
async fn resume_continues_the_same_row_with_a_new_run_in_history() {
    let mut h = harness(StopResponse::ExitOnGraceful);
    let (id, first) = h.running("write the parser").await;
    complete(&first, 0.5).await;
    let done = h.settled(id).await;
    assert_eq!(done.status, SessionStatus::Completed);

    tokio::time::advance(Duration::from_secs(30)).await;
    let queued = h
        .supervisor
        .resume(id, prompt("now add tests"), OptionOverrides::default())
        .await
        .expect("resumed");
    let second = h.next_launch().await;
    second.emit(init()).await;
    complete(&second, 0.25).await;
    let resumed = h.settled(id).await;

    assert_eq!(queued.status, SessionStatus::Queued);
    assert_eq!(second.spec.session_id, id, "same conversation id");
    assert_eq!(second.spec.mode, ConversationMode::Resume);
    assert_eq!(second.spec.prompt, prompt("now add tests"));
    assert_ne!(second.spec.run_id, first.spec.run_id);
    assert_eq!(resumed.id, id);
    assert_eq!(resumed.status, SessionStatus::Completed);
    assert_eq!(resumed.resume_count, 1);
    assert_eq!(resumed.active_run_id, Some(second.spec.run_id));
    assert_eq!(resumed.last_resume_at, Some(queued.updated_at));
    assert!(resumed.last_resume_at > Some(done.updated_at));
    assert_eq!(resumed.created_at, done.created_at);
    assert!(
        (resumed.totals.cost_usd - 0.75).abs() < 1e-9,
        "costs of both runs add up"
    );
    assert_eq!(resumed.totals.num_turns, 2);
    assert_eq!(
        resumed.totals.permission_denials, 2,
        "refused tool calls add up over runs"
    );
    let runs = h.store.runs(id).await.unwrap();
    let history: Vec<_> = runs
        .iter()
        .map(|run| (run.id, run.kind, run.outcome.clone()))
        .collect();
    assert_eq!(
        history,
        vec![
            (
                first.spec.run_id,
                RunKind::Start,
                Some(RunOutcome::Completed)
            ),
            (
                second.spec.run_id,
                RunKind::Resume,
                Some(RunOutcome::Completed)
            ),
        ]
    );
    assert_eq!(
        h.store
            .list_sessions(&crate::ports::SessionQuery::default())
            .await
            .unwrap()
            .len(),
        1,
        "no new session row"
    );
}

#[tokio::test(start_paused = true)]
async fn a_second_operation_on_a_session_is_refused_while_the_first_is_in_flight() {
    let mut h = harness(StopResponse::ExitOnForceful);
    let (id, run) = h.running("slow to stop").await;
    let (other, _other_run) = h.running("unrelated").await;
    let interrupt = tokio::spawn({
        let supervisor = h.supervisor.clone();
        async move { supervisor.interrupt(id).await }
    });
    h.becomes(id, SessionStatus::Interrupting).await;

    assert_eq!(
        h.supervisor
            .resume(id, prompt("too soon"), OptionOverrides::default())
            .await,
        Err(SupervisorError::OperationInProgress(id))
    );
    assert_eq!(
        h.supervisor.interrupt(id).await,
        Err(SupervisorError::OperationInProgress(id))
    );
    let other_done = h
        .supervisor
        .interrupt(other)
        .await
        .expect("other sessions never wait");
    assert_eq!(other_done.status, SessionStatus::Interrupted);

    let interrupted = interrupt
        .await
        .unwrap()
        .expect("the first operation finishes");
    assert_eq!(interrupted.status, SessionStatus::Interrupted);
    assert_eq!(run.stops(), vec![StopMode::Graceful, StopMode::Forceful]);
    let resumed = h
        .supervisor
        .resume(id, prompt("now"), OptionOverrides::default())
        .await
        .expect("accepted right after");
    assert_eq!(resumed.status, SessionStatus::Queued);
    assert_eq!(h.next_launch().await.spec.session_id, id);
}

#[tokio::test(start_paused = true)]
async fn resume_and_interrupt_of_unknown_or_idle_sessions_are_refused_clearly() {
    let mut h = harness(StopResponse::ExitOnGraceful);
    let unknown = crate::testing::session_id(99);
    assert_eq!(
        h.supervisor.interrupt(unknown).await,
        Err(SupervisorError::NotFound(unknown))
    );
    let (id, run) = h.running("hello").await;
    assert_eq!(
        h.supervisor
            .resume(id, prompt("x"), OptionOverrides::default())
            .await,
        Err(SupervisorError::NotResumable {
            id,
            status: SessionStatus::Running
        })
    );
    complete(&run, 0.0).await;
    h.settled(id).await;
    assert_eq!(
        h.supervisor.interrupt(id).await,
        Err(SupervisorError::NotRunning {
            id,
            status: SessionStatus::Completed
        })
    );
}

#[tokio::test(start_paused = true)]
async fn a_session_whose_owner_died_is_recovered_as_interrupted_with_the_reason() {
    let h = harness(StopResponse::ExitOnGraceful);
    let (mut orphan, run) = Session::queued(
        crate::testing::session_id(7),
        crate::testing::run_id(7),
        spec("left behind"),
        crate::testing::epoch(),
    );
    orphan.status = SessionStatus::Running;
    let write = SessionWrite {
        session: orphan.clone(),
        run_change: Some(RunChange::Created(run)),
        approval_change: None,
    };
    h.store.save(&write).await.unwrap();

    let reason = "its owner (lulu pid 4711) died; the agent was stopped".to_owned();
    let recovered = h
        .supervisor
        .recover(orphan.id, reason.clone())
        .await
        .unwrap();

    assert_eq!(recovered.status, SessionStatus::Interrupted);
    assert_eq!(recovered.last_error, Some(reason));
    let runs = h.store.runs(orphan.id).await.unwrap();
    assert_eq!(runs[0].outcome, Some(RunOutcome::Interrupted));
    let again = h
        .supervisor
        .recover(orphan.id, "twice".into())
        .await
        .unwrap();
    assert_eq!(
        again, recovered,
        "recovering a settled session changes nothing"
    );
}

#[tokio::test(start_paused = true)]
async fn delete_refuses_a_live_session_and_removes_a_settled_one() {
    let mut h = harness(StopResponse::ExitOnGraceful);
    let mut updates = h.supervisor.subscribe();
    let (id, run) = h.running("hello").await;
    assert_eq!(
        h.supervisor.delete(id).await,
        Err(SupervisorError::StillLive {
            id,
            status: SessionStatus::Running
        })
    );
    complete(&run, 0.0).await;
    h.settled(id).await;

    h.supervisor.delete(id).await.unwrap();

    assert_eq!(h.store.session(id).await.unwrap(), None);
    assert!(h.store.runs(id).await.unwrap().is_empty());
    assert!(h.store.events().is_empty());
    assert_eq!(
        h.supervisor.delete(id).await,
        Err(SupervisorError::NotFound(id))
    );
    let mut deleted = false;
    while let Ok(update) = updates.try_recv() {
        deleted |= update == SessionUpdate::Deleted(id);
    }
    assert!(deleted, "the deletion was announced");
}

#[tokio::test(start_paused = true)]
async fn a_resume_launches_with_its_overrides_once_and_runs_record_what_the_agent_said() {
    let mut h = harness(StopResponse::ExitOnGraceful);
    let (id, first) = h.running("write the parser").await;
    complete(&first, 0.1).await;
    h.settled(id).await;
    let overrides = OptionOverrides {
        model: Some("opus".into()),
        allowed_tools: Some(vec!["Bash".into()]),
        ..OptionOverrides::default()
    };

    h.supervisor
        .resume(id, prompt("run the tests"), overrides)
        .await
        .unwrap();
    let second = h.next_launch().await;
    second.emit(init()).await;
    complete(&second, 0.1).await;
    h.settled(id).await;
    h.supervisor
        .resume(id, prompt("and again"), OptionOverrides::default())
        .await
        .unwrap();
    let third = h.next_launch().await;
    complete(&third, 0.1).await;
    let done = h.settled(id).await;

    assert_eq!(second.spec.options.model.as_deref(), Some("opus"));
    assert_eq!(second.spec.options.allowed_tools, ["Bash"]);
    assert_eq!(third.spec.options, first.spec.options, "the session's own");
    assert_eq!(done.options, first.spec.options);
    let runs = h.store.runs(id).await.unwrap();
    let used: Vec<_> = runs.iter().map(|run| run.options.clone()).collect();
    assert_eq!(
        used,
        [
            first.spec.options.clone(),
            second.spec.options.clone(),
            third.spec.options.clone()
        ]
    );
    assert_eq!(runs[1].model.as_deref(), Some("claude-opus-4-8"));
    assert_eq!(runs[1].cli_version.as_deref(), Some("2.1.197"));
    assert_eq!(runs[2].model, None, "its agent said nothing");
}
