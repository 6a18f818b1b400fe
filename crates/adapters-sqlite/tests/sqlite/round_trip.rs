//! Every domain type goes in and comes back out unchanged; writes are all or nothing.

use lulu_adapters_sqlite::default_db_path;
use lulu_domain::lifecycle::RunChange;
use lulu_domain::ports::{
    ListCursor, SessionFilter, SessionQuery, SessionStore as _, SessionWrite, StoreError,
};
use lulu_domain::testing::{run_id, session_id};
use lulu_domain::{
    AgentEvent, AgentOptions, FailureKind, RunOutcome, RunUsage, SessionStatus, SessionTitle,
    TranscriptEntry, UsageTotals,
};

use crate::fixture::{
    at, created, ids, lines, moved, new_session, resume_run, store_session, TempDb,
};

fn every_event() -> Vec<AgentEvent> {
    vec![
        AgentEvent::Init {
            model: "claude-sonnet".into(),
            cwd: "/srv/app".into(),
            version: "2.1.0".into(),
            tools: vec!["Bash".into(), "Edit".into()],
        },
        AgentEvent::AssistantText {
            text: "Hello — ünïcode, \"quotes\" and\nnew lines".into(),
        },
        AgentEvent::Thinking { text: "hmm".into() },
        AgentEvent::ToolUse {
            id: "toolu_1".into(),
            name: "Bash".into(),
            input_json: r#"{"command":"cargo test"}"#.into(),
        },
        AgentEvent::ToolResult {
            tool_use_id: "toolu_1".into(),
            content: "ok".into(),
            is_error: true,
        },
        AgentEvent::UserText {
            text: "[Request interrupted by user]".into(),
        },
        AgentEvent::ApiRetry {
            attempt: 1,
            max_retries: 10,
            retry_delay_ms: 500,
            error_status: Some(529),
            error: "overloaded".into(),
        },
        AgentEvent::Result {
            subtype: "success".into(),
            is_error: false,
            text: Some("done".into()),
            errors: vec!["e1".into()],
            terminal_reason: None,
            usage: RunUsage {
                cost_usd: 0.25,
                input_tokens: 100,
                output_tokens: 20,
                num_turns: 3,
                duration_ms: 4000,
                permission_denials: 1,
            },
            permission_denials: vec![lulu_domain::PermissionDenial {
                tool_name: "Bash".into(),
                tool_use_id: "toolu_1".into(),
                input_json: r#"{"command":"touch notes.md"}"#.into(),
            }],
        },
        AgentEvent::PermissionDenied {
            tool_name: "Bash".into(),
            tool_use_id: "toolu_1".into(),
            message: "touch in '/srv/notes.md' needs approval.".into(),
        },
        AgentEvent::Other {
            type_name: "stream_event".into(),
            raw_json: r#"{"type":"stream_event"}"#.into(),
        },
        AgentEvent::Diagnostic {
            message: "a line of 2 MiB was cut".into(),
        },
    ]
}

fn every_option() -> AgentOptions {
    AgentOptions {
        model: Some("opus".into()),
        permission_mode: Some("acceptEdits".into()),
        allowed_tools: vec!["Bash(git:*)".into()],
        disallowed_tools: vec!["WebFetch".into()],
        max_turns: Some(7),
        append_system_prompt: Some("be brief".into()),
        add_dirs: vec!["/srv/lib".into()],
        extra_args: vec!["--verbose".into()],
        keep_open: true,
    }
}

#[tokio::test]
async fn each_run_keeps_its_options_and_the_agent_its_first_init_reported() {
    let db = TempDb::new();
    let (mut session, mut first_run) = new_session(1);
    session.options = every_option();
    first_run.options = every_option();
    let mut second_run = resume_run(1, 1);
    second_run.options = AgentOptions {
        model: Some("haiku".into()),
        ..every_option()
    };
    let init = |run_id, seq, model: &str| TranscriptEntry {
        run_id,
        seq,
        at: at(100),
        event: AgentEvent::Init {
            model: model.into(),
            cwd: "/srv/app".into(),
            version: "2.1.197".into(),
            tools: Vec::new(),
        },
    };
    {
        let store = db.open().await;
        for run in [&first_run, &second_run] {
            let write = SessionWrite {
                session: session.clone(),
                run_change: Some(RunChange::Created(run.clone())),
                approval_change: None,
            };
            store.save(&write).await.unwrap();
        }
        let second_turn = init(first_run.id, 1, "claude-later");
        store
            .append_events(&[init(first_run.id, 0, "claude-sonnet"), second_turn])
            .await
            .unwrap();
        store
            .append_events(&[init(first_run.id, 2, "claude-latest")])
            .await
            .unwrap();
    }

    let runs = db.open().await.runs(session.id).await.unwrap();

    assert_eq!(runs[0].options, first_run.options);
    assert_eq!(runs[1].options, second_run.options);
    assert_eq!(
        runs[0].model.as_deref(),
        Some("claude-sonnet"),
        "the first init"
    );
    assert_eq!(runs[0].cli_version.as_deref(), Some("2.1.197"));
    assert_eq!(runs[1].model, None, "its agent said nothing yet");
}

#[tokio::test]
async fn every_domain_type_comes_back_unchanged_after_reopening_the_file() {
    let db = TempDb::new();
    let (mut session, first_run) = new_session(1);
    session.title = SessionTitle::parse("Fix the flaky test").unwrap();
    session.options = every_option();
    let second_run = resume_run(1, 1);
    let entries: Vec<TranscriptEntry> = every_event()
        .into_iter()
        .zip(0..)
        .map(|(event, seq)| TranscriptEntry {
            run_id: first_run.id,
            seq,
            at: at(i64::try_from(seq).unwrap()),
            event,
        })
        .collect();
    {
        let store = db.open().await;
        let writes = [
            Some(RunChange::Created(first_run.clone())),
            Some(RunChange::Spawned {
                run_id: first_run.id,
                pid: 4242,
            }),
            Some(RunChange::Ended {
                run_id: first_run.id,
                ended_at: at(5000),
                outcome: RunOutcome::Failed {
                    kind: FailureKind::ApiError,
                    message: "overloaded".into(),
                },
                exit_code: Some(1),
            }),
            Some(RunChange::Created(second_run.clone())),
            Some(RunChange::Ended {
                run_id: second_run.id,
                ended_at: at(9000),
                outcome: RunOutcome::Interrupted,
                exit_code: None,
            }),
        ];
        for run_change in writes {
            let write = SessionWrite {
                session: session.clone(),
                run_change,
                approval_change: None,
            };
            store.save(&write).await.unwrap();
        }
        store.append_events(&entries).await.unwrap();
        session.status = SessionStatus::Interrupted;
        session.resume_count = 1;
        session.active_run_id = Some(second_run.id);
        session.last_resume_at = Some(at(1000));
        session.last_error = Some("the agent said: overloaded".into());
        session.agent_established = true;
        session.totals = UsageTotals {
            cost_usd: 0.0973,
            input_tokens: 19_458,
            output_tokens: 312,
            num_turns: 2,
            permission_denials: 3,
        };
        session.lost_events = 17;
        store
            .save(&SessionWrite {
                session: session.clone(),
                run_change: None,
                approval_change: None,
            })
            .await
            .unwrap();
    }

    let store = db.open().await;
    assert_eq!(
        store.session(session.id).await.unwrap(),
        Some(session.clone())
    );
    let runs = store.runs(session.id).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].id, first_run.id);
    assert_eq!(runs[0].pid, Some(4242));
    assert_eq!(runs[0].ended_at, Some(at(5000)));
    assert_eq!(
        runs[0].outcome,
        Some(RunOutcome::Failed {
            kind: FailureKind::ApiError,
            message: "overloaded".into()
        })
    );
    assert_eq!(runs[0].exit_code, Some(1));
    let mut expected_second = second_run;
    expected_second.ended_at = Some(at(9000));
    expected_second.outcome = Some(RunOutcome::Interrupted);
    assert_eq!(runs[1], expected_second);
    assert_eq!(
        store.events_after(first_run.id, None, 100).await.unwrap(),
        entries
    );
}

#[tokio::test]
async fn the_list_is_newest_first_filtered_by_status_and_limited() {
    let db = TempDb::new();
    let store = db.open().await;
    for n in 1..=5 {
        store_session(&store, n).await;
    }
    store
        .save(&moved(2, SessionStatus::Running, 100))
        .await
        .unwrap();
    store
        .save(&moved(4, SessionStatus::Running, 50))
        .await
        .unwrap();

    let all = store.list_sessions(&SessionQuery::default()).await.unwrap();
    assert_eq!(
        ids(&all),
        [2, 4, 5, 3, 1].map(session_id).to_vec(),
        "newest updated_at first"
    );
    let running = SessionQuery {
        filter: SessionFilter::status(Some(SessionStatus::Running)),
        ..SessionQuery::default()
    };
    assert_eq!(
        ids(&store.list_sessions(&running).await.unwrap()),
        [session_id(2), session_id(4)]
    );
    let newest_two = SessionQuery {
        limit: Some(2),
        ..SessionQuery::default()
    };
    let first_page = store.list_sessions(&newest_two).await.unwrap();
    assert_eq!(ids(&first_page), [session_id(2), session_id(4)]);
    let next_two = SessionQuery {
        after: first_page.last().map(ListCursor::after),
        ..newest_two
    };
    assert_eq!(
        ids(&store.list_sessions(&next_two).await.unwrap()),
        [session_id(5), session_id(3)],
        "the next page starts after the last session of the first"
    );
    let all = store.summarize(&SessionFilter::default()).await.unwrap();
    assert_eq!(
        (all.sessions, all.live),
        (5, 5),
        "queued and running are live"
    );
    let running = store
        .summarize(&SessionFilter::status(Some(SessionStatus::Running)))
        .await
        .unwrap();
    assert_eq!((running.sessions, running.live), (2, 2));
}

#[tokio::test]
async fn transcript_pages_follow_seq_after_the_last_one_seen() {
    let db = TempDb::new();
    let store = db.open().await;
    store_session(&store, 1).await;
    store.append_events(&lines(run_id(1), 0..10)).await.unwrap();
    store
        .append_events(&lines(run_id(1), 10..25))
        .await
        .unwrap();

    let first = store.events_after(run_id(1), None, 10).await.unwrap();
    assert_eq!(first, lines(run_id(1), 0..10));
    let next = store.events_after(run_id(1), Some(9), 10).await.unwrap();
    assert_eq!(next, lines(run_id(1), 10..20));
    let tail = store.events_after(run_id(1), Some(19), 10).await.unwrap();
    assert_eq!(tail, lines(run_id(1), 20..25));
    assert!(store
        .events_after(run_id(1), Some(24), 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .events_after(run_id(9), None, 10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_transition_naming_an_unknown_run_stores_nothing_of_it() {
    let db = TempDb::new();
    let store = db.open().await;
    store_session(&store, 1).await;
    let mut write = moved(1, SessionStatus::Running, 10);
    write.run_change = Some(RunChange::Spawned {
        run_id: run_id(99),
        pid: 7,
    });

    let error = store.save(&write).await.unwrap_err();

    assert!(
        matches!(error, StoreError::NotFound { ref what } if what.contains(&run_id(99).to_string()))
    );
    let stored = store.session(session_id(1)).await.unwrap().unwrap();
    assert_eq!(
        stored.status,
        SessionStatus::Queued,
        "the session change was rolled back"
    );
}

#[tokio::test]
async fn lines_of_an_unknown_run_or_a_repeated_seq_store_nothing_of_the_batch() {
    let db = TempDb::new();
    let store = db.open().await;
    store_session(&store, 1).await;
    store.append_events(&lines(run_id(1), 0..3)).await.unwrap();

    let mut unknown = lines(run_id(1), 3..5);
    unknown.extend(lines(run_id(2), 0..1));
    let error = store.append_events(&unknown).await.unwrap_err();
    assert!(matches!(error, StoreError::NotFound { .. }), "{error}");

    let repeated = lines(run_id(1), 2..6);
    let error = store.append_events(&repeated).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("already has a transcript line at seq 2"),
        "{error}"
    );

    assert_eq!(
        store.events_after(run_id(1), None, 100).await.unwrap(),
        lines(run_id(1), 0..3)
    );
}

#[tokio::test]
async fn deleting_a_session_takes_its_runs_and_transcript_along() {
    let db = TempDb::new();
    let store = db.open().await;
    store_session(&store, 1).await;
    store_session(&store, 2).await;
    store.append_events(&lines(run_id(1), 0..5)).await.unwrap();

    assert!(store.delete_session(session_id(1)).await.unwrap());
    assert!(!store.delete_session(session_id(1)).await.unwrap());

    assert_eq!(store.session(session_id(1)).await.unwrap(), None);
    assert!(store.runs(session_id(1)).await.unwrap().is_empty());
    assert!(store
        .events_after(run_id(1), None, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store.session(session_id(2)).await.unwrap().is_some());
    let leftover: u64 = crate::fixture::raw(&db.path)
        .query_row("SELECT count(*) FROM events", [], |row| row.get(0))
        .unwrap();
    assert_eq!(leftover, 0);
}

#[tokio::test]
async fn a_missing_directory_is_created_for_a_new_database() {
    let db = TempDb::new();
    let path = db.dir.path().join("nested/deeper/lulu.db");
    let store =
        lulu_adapters_sqlite::SqliteStore::open(lulu_adapters_sqlite::StoreOptions::new(&path))
            .await
            .unwrap();
    store.save(&created(1)).await.unwrap();
    assert!(path.is_file());
}

#[test]
fn the_default_path_is_lulu_db_in_a_lulu_data_directory() {
    let path = default_db_path().unwrap();
    assert!(path.ends_with("lulu/lulu.db"), "{}", path.display());
}
