//! Listing, counting and summing usage through a session filter (statuses, a directory
//! and what is below it, a start time), all in SQL.

use chrono::{Duration, FixedOffset};
use lulu_domain::ports::{SessionFilter, SessionQuery, SessionStore as _, UsageGrouping, UsageRow};
use lulu_domain::testing::session_id;
use lulu_domain::{SessionStatus, UsageTotals, WorkingDir};

use crate::fixture::{at, ids, moved, store_session, TempDb};

/// Sessions 1 to 4: directory, status, model, turns (cost and tokens follow the turns).
const SESSIONS: [(&str, SessionStatus, Option<&str>, u32); 4] = [
    ("/srv/app", SessionStatus::Completed, Some("opus"), 8),
    ("/srv/app/web", SessionStatus::Failed, None, 4),
    ("/srv/apple", SessionStatus::Completed, Some("opus"), 2),
    ("/home/ana", SessionStatus::Running, None, 1),
];

async fn stored() -> (TempDb, lulu_adapters_sqlite::SqliteStore) {
    let db = TempDb::new();
    let store = db.open().await;
    for (n, (cwd, status, model, turns)) in (1_u32..).zip(SESSIONS) {
        store_session(&store, n).await;
        let mut write = moved(n, status, i64::from(n) * 1000);
        let session = &mut write.session;
        session.cwd = WorkingDir::parse(cwd).unwrap();
        session.options.model = model.map(str::to_owned);
        session.totals = totals(turns);
        store.save(&write).await.unwrap();
    }
    (db, store)
}

fn filter(statuses: &[SessionStatus], cwd: Option<&str>, since_ms: Option<i64>) -> SessionFilter {
    SessionFilter {
        statuses: statuses.to_vec(),
        cwd: cwd.map(str::to_owned),
        since: since_ms.map(at),
    }
}

#[tokio::test]
async fn a_filter_lists_statuses_a_directory_tree_and_a_time_span() {
    let (_db, store) = stored().await;
    let finished = [SessionStatus::Completed, SessionStatus::Failed];
    for (filter, expected) in [
        (filter(&finished, None, None), vec![3, 2, 1]),
        (filter(&[], Some("/srv/app"), None), vec![2, 1]),
        (filter(&[], Some("/srv/app/"), None), vec![2, 1]),
        (filter(&[], None, Some(2500)), vec![4, 3]),
        (filter(&finished, Some("/srv"), Some(1500)), vec![3, 2]),
        (filter(&[SessionStatus::Idle], None, None), vec![]),
    ] {
        let query = SessionQuery {
            filter: filter.clone(),
            ..SessionQuery::default()
        };
        let listed = store.list_sessions(&query).await.unwrap();
        let expected: Vec<_> = expected.into_iter().map(session_id).collect();
        assert_eq!(ids(&listed), expected, "{filter:?}");
        let summary = store.summarize(&filter).await.unwrap();
        assert_eq!(summary.sessions, expected.len() as u64, "{filter:?}");
    }
}

#[tokio::test]
async fn a_filtered_listing_pages_after_its_cursor() {
    let (_db, store) = stored().await;
    let first = SessionQuery {
        filter: filter(
            &[SessionStatus::Completed, SessionStatus::Failed],
            None,
            None,
        ),
        limit: Some(2),
        after: None,
    };
    let page = store.list_sessions(&first).await.unwrap();
    assert_eq!(ids(&page), [session_id(3), session_id(2)]);
    let next = SessionQuery {
        after: page.last().map(lulu_domain::ports::ListCursor::after),
        ..first
    };
    assert_eq!(
        ids(&store.list_sessions(&next).await.unwrap()),
        [session_id(1)]
    );
}

/// `turns` turns at $0.125 (exact in binary: sums compare equal), 100 tokens in and 10
/// out each.
fn totals(turns: u32) -> UsageTotals {
    UsageTotals {
        cost_usd: f64::from(turns) / 8.0,
        input_tokens: u64::from(turns) * 100,
        output_tokens: u64::from(turns) * 10,
        num_turns: u64::from(turns),
        permission_denials: 0,
    }
}

fn row(key: &str, sessions: u64, turns: u32) -> UsageRow {
    let totals = totals(turns);
    UsageRow {
        key: key.to_owned(),
        sessions,
        turns: totals.num_turns,
        input_tokens: totals.input_tokens,
        output_tokens: totals.output_tokens,
        cost_usd: totals.cost_usd,
    }
}

#[tokio::test]
async fn usage_is_summed_by_group_in_place() {
    let (_db, store) = stored().await;
    let all = SessionFilter::default();
    assert_eq!(
        store.usage(&all, UsageGrouping::Total).await.unwrap(),
        [row("", 4, 15)]
    );
    assert_eq!(
        store.usage(&all, UsageGrouping::Model).await.unwrap(),
        [row("opus", 2, 10), row("", 2, 5)],
        "costliest first; no model asked for is the empty key"
    );
    assert_eq!(
        store
            .usage(&filter(&[], Some("/srv/app"), None), UsageGrouping::Cwd)
            .await
            .unwrap(),
        [row("/srv/app", 1, 8), row("/srv/app/web", 1, 4)]
    );
    assert!(store
        .usage(
            &filter(&[SessionStatus::Idle], None, None),
            UsageGrouping::Total
        )
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn days_are_counted_in_the_time_zone_asked_for() {
    let (_db, store) = stored().await;
    // An offset that puts session 1 and session 4 on different local days.
    let base = at(0);
    let seconds_to_midnight = i32::try_from(
        (base
            .date_naive()
            .succ_opt()
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            - base)
            .num_seconds(),
    )
    .unwrap();
    let offset = FixedOffset::east_opt(seconds_to_midnight - 2).unwrap();
    let day = |ms: i64| {
        (at(ms) + Duration::seconds(i64::from(offset.local_minus_utc())))
            .date_naive()
            .to_string()
    };
    assert_ne!(day(1000), day(4000), "the test straddles a local midnight");
    let rows = store
        .usage(&SessionFilter::default(), UsageGrouping::Day { offset })
        .await
        .unwrap();
    let keys: Vec<&str> = rows.iter().map(|row| row.key.as_str()).collect();
    assert_eq!(keys, [day(4000), day(1000)], "newest day first");
    assert_eq!(rows[0].sessions + rows[1].sessions, 4);
}

/// The days and sums of `--by day`, as a date computed for every session gives them.
fn days_row_by_row(db: &TempDb, offset: FixedOffset) -> Vec<UsageRow> {
    let connection = crate::fixture::raw(&db.path);
    let mut statement = connection
        .prepare(
            "SELECT date(updated_at, ?1), COUNT(*), SUM(num_turns), SUM(input_tokens), \
                 SUM(output_tokens), SUM(cost_usd) \
             FROM sessions GROUP BY 1 ORDER BY 1 DESC",
        )
        .unwrap();
    let rows = statement
        .query_map([format!("{:+} seconds", offset.local_minus_utc())], |row| {
            Ok(UsageRow {
                key: row.get(0)?,
                sessions: row.get(1)?,
                turns: row.get(2)?,
                input_tokens: row.get(3)?,
                output_tokens: row.get(4)?,
                cost_usd: row.get(5)?,
            })
        })
        .unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

#[tokio::test]
async fn days_summed_by_slices_of_time_are_the_days_of_each_session() {
    let db = TempDb::new();
    let store = db.open().await;
    // 300 sessions 13 min 7.5 s apart: nearly three days, every hour and minute of them.
    for n in 1..=300_u32 {
        store_session(&store, n).await;
        let mut write = moved(n, SessionStatus::Completed, i64::from(n) * 787_500);
        write.session.totals = totals(n % 7 + 1);
        store.save(&write).await.unwrap();
    }
    // Whole hours either way, half and three-quarter hours, and a zone off by seconds.
    for seconds in [
        0,
        3600,
        -5 * 3600,
        14 * 3600,
        19_800,
        20_700,
        -12_345,
        45_678,
    ] {
        let offset = FixedOffset::east_opt(seconds).unwrap();

        let rows = store
            .usage(&SessionFilter::default(), UsageGrouping::Day { offset })
            .await
            .unwrap();

        assert_eq!(rows, days_row_by_row(&db, offset), "offset {seconds} s");
        assert!(rows.len() >= 3, "offset {seconds} s: {rows:?}");
    }
}

#[tokio::test]
async fn days_of_a_whole_hour_zone_are_summed_from_the_hour_index() {
    let (db, _store) = stored().await;
    assert_plan_reads_in_order(
        &db,
        "SELECT substr(s.updated_at, 1, 13), COUNT(*), SUM(s.num_turns), \
             SUM(s.input_tokens), SUM(s.output_tokens), SUM(s.cost_usd) \
         FROM sessions s WHERE 1 GROUP BY 1",
        "COVERING INDEX sessions_usage_by_hour",
    );
}

#[tokio::test]
async fn pages_of_a_listing_follow_each_other_through_sessions_of_one_time() {
    let db = TempDb::new();
    let store = db.open().await;
    // Sessions 1..=7; 2 to 6 share one time, so the id alone orders them.
    for n in 1..=7_u32 {
        store_session(&store, n).await;
        let ms = match n {
            1 => 1000,
            7 => 3000,
            _ => 2000,
        };
        store
            .save(&moved(n, SessionStatus::Completed, ms))
            .await
            .unwrap();
    }
    let all = store.list_sessions(&SessionQuery::default()).await.unwrap();
    let mut paged = Vec::new();
    let mut query = SessionQuery {
        limit: Some(2),
        ..SessionQuery::default()
    };
    loop {
        let page = store.list_sessions(&query).await.unwrap();
        paged.extend(ids(&page));
        match page.last() {
            Some(last) if page.len() == 2 => {
                query.after = Some(lulu_domain::ports::ListCursor::after(last));
            }
            _ => break,
        }
    }
    let expected: Vec<_> = [7, 6, 5, 4, 3, 2, 1].into_iter().map(session_id).collect();
    assert_eq!(ids(&all), expected);
    assert_eq!(paged, expected);
    assert_plan_reads_in_order(
        &db,
        "SELECT s.id FROM sessions s WHERE 1 AND (s.updated_at, s.id) < ('9', '9') \
         ORDER BY s.updated_at DESC, s.id DESC LIMIT 500",
        "sessions_by_updated_at",
    );
}

/// Asserts that SQLite's plan for `sql` on `db` reads through `index` and needs no
/// temporary b-tree to sort or group.
fn assert_plan_reads_in_order(db: &TempDb, sql: &str, index: &str) {
    let plan: Vec<String> = crate::fixture::raw(&db.path)
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap()
        .query_map([], |row| row.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(plan.iter().any(|step| step.contains(index)), "{plan:?}");
    assert!(
        !plan.iter().any(|step| step.contains("TEMP B-TREE")),
        "{plan:?}"
    );
}
