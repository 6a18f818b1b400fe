//! Storage: stored before announced, refused writes, transcripts, a full disk.

use super::*;

/// The first update `updates` announces that `pick` picks, waited for with patience.
async fn told<T>(
    updates: &mut tokio::sync::broadcast::Receiver<SessionUpdate>,
    pick: impl Fn(SessionUpdate) -> Option<T>,
) -> T {
    timeout(PATIENCE, async {
        loop {
            if let Some(picked) = updates.recv().await.ok().and_then(&pick) {
                return picked;
            }
        }
    })
    .await
    .expect("told in time")
}

#[tokio::test(start_paused = true)]
async fn every_change_is_stored_before_it_is_announced() {
    let mut order = Sequence::new();
    let mut store = MockSessionStore::new();
    let mut updates = MockUpdatePublisher::new();
    for status in [
        SessionStatus::Queued,
        SessionStatus::Starting,
        SessionStatus::Failed,
    ] {
        store
            .expect_save()
            .withf(move |write| write.session.status == status)
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(()));
        updates
            .expect_publish()
            .withf(move |update| matches!(update, SessionUpdate::Session(s) if s.status == status))
            .times(1)
            .in_sequence(&mut order)
            .return_const(());
    }
    let (launcher, _launched) = FakeLauncher::new(StopResponse::ExitOnGraceful, Journal::default());
    let launcher = launcher.failing_with(LaunchError::BinaryNotFound {
        binary: "claude".into(),
    });
    let supervisor = supervisor_over(Arc::new(store), Arc::new(launcher), Arc::new(updates));

    let id = supervisor.start(spec("hello")).await.unwrap().id;
    let failed = timeout(PATIENCE, supervisor.wait_until_settled(id))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(failed.status, SessionStatus::Failed);
    assert!(failed
        .last_error
        .unwrap()
        .contains("`claude` was not found"));
    drop(supervisor); // verifies every expectation was met exactly
}

#[tokio::test(start_paused = true)]
async fn a_change_the_store_refuses_is_never_announced() {
    let mut store = MockSessionStore::new();
    store.expect_save().returning(|_| {
        Err(StoreError::Full {
            message: "database or disk is full".into(),
        })
    });
    let mut updates = MockUpdatePublisher::new();
    updates.expect_publish().never();
    let mut launcher = MockAgentLauncher::new();
    launcher.expect_launch().never();
    let supervisor = supervisor_over(Arc::new(store), Arc::new(launcher), Arc::new(updates));

    let error = supervisor.start(spec("hello")).await.unwrap_err();

    assert!(matches!(
        error,
        SupervisorError::Store(StoreError::Full { .. })
    ));
    assert!(supervisor.live_sessions().is_empty());
}

#[tokio::test(start_paused = true)]
async fn transcript_lines_are_stored_in_order_before_they_are_announced() {
    let mut h = harness(StopResponse::ExitOnGraceful);
    let mut updates = h.supervisor.subscribe();
    let (id, run) = h.running("hello").await;
    complete(&run, 0.1).await;
    h.settled(id).await;

    let stored = h.store.events();
    let seqs: Vec<u64> = stored.iter().map(|entry| entry.seq).collect();
    assert_eq!(seqs, vec![0, 1, 2]);
    let kinds: Vec<&str> = stored.iter().map(|entry| entry.event.kind()).collect();
    assert_eq!(kinds, vec!["init", "assistant_text", "result"]);
    let mut announced = Vec::new();
    while let Ok(update) = updates.try_recv() {
        if let SessionUpdate::Transcript { entries, .. } = update {
            announced.extend(entries);
        }
    }
    assert_eq!(announced, stored);
}

#[tokio::test(start_paused = true)]
async fn a_run_ending_on_a_full_disk_is_reported_and_stored_once_space_returns() {
    let mut h = harness(StopResponse::ExitOnGraceful);
    let mut updates = h.supervisor.subscribe();
    let (id, run) = h.running("hello").await;
    h.established(id).await;
    h.store.set_full(true);
    complete(&run, 0.1).await;

    // Subscribers (a foreground `lulu run`) learn the end could not be stored: no hang.
    let (session_id, status, reason) = told(&mut updates, |update| match update {
        SessionUpdate::EndNotStored {
            session_id,
            status,
            reason,
        } => Some((session_id, status, reason)),
        _ => None,
    })
    .await;
    assert_eq!(session_id, id);
    assert_eq!(status, SessionStatus::Completed);
    assert!(reason.contains("full"), "{reason}");
    // An interrupt meanwhile tells the truth: the agent is gone, its end is not stored.
    let refused = h.supervisor.interrupt(id).await.unwrap_err();
    assert!(
        matches!(
            refused,
            SupervisorError::EndNotStored {
                status: SessionStatus::Completed,
                ..
            }
        ),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("already exited"), "{refused}");
    assert_eq!(
        h.store.session(id).await.unwrap().unwrap().status,
        SessionStatus::Running
    );

    // Space returns: the owner's retries store the end, with the lines that were lost.
    h.store.set_full(false);
    let settled = h.settled(id).await;
    assert_eq!(settled.status, SessionStatus::Completed);
    let stored = h.store.session(id).await.unwrap().unwrap();
    assert_eq!(stored.status, SessionStatus::Completed);
    assert_eq!(
        stored.lost_events, 2,
        "the assistant text and the result were lost"
    );
    assert!(h.supervisor.live_sessions().is_empty());
}

#[tokio::test(start_paused = true)]
async fn subscribers_are_told_at_once_why_transcript_lines_were_lost() {
    let mut h = harness(StopResponse::ExitOnGraceful);
    let mut updates = h.supervisor.subscribe();
    let (id, run) = h.running("hello").await;
    h.established(id).await;
    h.store.set_full(true);
    run.emit(AgentEvent::AssistantText {
        text: "lost".into(),
    })
    .await;

    // Told while nothing can be stored: the reason travels with the news, not the store.
    let (session_id, lines, reason) = told(&mut updates, |update| match update {
        SessionUpdate::LinesLost {
            session_id,
            lines,
            reason,
        } => Some((session_id, lines, reason)),
        _ => None,
    })
    .await;
    assert_eq!(session_id, id);
    assert_eq!(lines, 1);
    assert!(reason.contains("full"), "{reason}");
    h.store.set_full(false);
    run.emit(result(0.1)).await;
    run.exit(RunOutcome::Completed, 0).await;
    assert_eq!(h.settled(id).await.lost_events, 1);
}

#[tokio::test(start_paused = true)]
async fn lost_transcript_lines_are_counted_on_the_session_as_soon_as_it_can_be_written() {
    let mut h = harness(StopResponse::ExitOnGraceful);
    let (id, run) = h.running("hello").await;
    h.established(id).await;
    h.store.set_full(true);
    run.emit(AgentEvent::AssistantText {
        text: "lost".into(),
    })
    .await;
    // The batch is given up after its attempts; nothing of it is stored.
    tokio::time::sleep(Duration::from_secs(30)).await;
    h.store.set_full(false);
    run.emit(AgentEvent::AssistantText {
        text: "kept".into(),
    })
    .await;
    timeout(PATIENCE, async {
        while h.store.session(id).await.unwrap().unwrap().lost_events == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the loss was recorded while the run was still live");
    assert_eq!(
        h.store.session(id).await.unwrap().unwrap().status,
        SessionStatus::Running
    );
    run.emit(result(0.1)).await;
    run.exit(RunOutcome::Completed, 0).await;
    let settled = h.settled(id).await;
    assert_eq!(settled.lost_events, 1);
    let texts: Vec<&str> = h
        .store
        .events()
        .iter()
        .map(|entry| entry.event.kind())
        .collect();
    assert_eq!(texts, vec!["init", "assistant_text", "result"]);
}
