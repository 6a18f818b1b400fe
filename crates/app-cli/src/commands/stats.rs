//! `lulu stats`: cost, tokens, turns and sessions, summed in the database.

use std::io::Write as _;
use std::process::ExitCode;

use chrono::{Local, Utc};

use lulu_domain::ports::UsageGrouping;

use super::Context;
use crate::args::{StatsArgs, StatsBy};
use crate::render::table::nothing_listed;
use crate::render::usage::{total, usage_table, UsageJson};

/// `lulu stats`.
pub async fn stats(context: &Context, args: &StatsArgs) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    let filter = args.filter.to_filter(now)?;
    let grouping = match args.by {
        None => UsageGrouping::Total,
        Some(StatsBy::Day) => UsageGrouping::Day {
            offset: *now.with_timezone(&Local).offset(),
        },
        Some(StatsBy::Cwd) => UsageGrouping::Cwd,
        Some(StatsBy::Model) => UsageGrouping::Model,
    };
    let runtime = context.open().await?;
    let rows = runtime.usage(&filter, grouping).await?;
    let sum = total(&rows);
    if args.json {
        super::inspect::print_json(&UsageJson::of(&rows, args.by, &sum))?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        anstream::eprintln!("{}", nothing_listed(args.filter.is_given()));
        return Ok(ExitCode::SUCCESS);
    }
    let home = std::env::var("HOME").ok();
    let mut out = anstream::stdout().lock();
    write!(out, "{}", usage_table(&rows, args.by, home.as_deref()))?;
    Ok(ExitCode::SUCCESS)
}
