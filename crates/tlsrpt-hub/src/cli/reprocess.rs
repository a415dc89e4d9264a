//! `tlsrpt-hub reprocess`: re-read stored raw submissions with the current parser.
//!
//! Each submission's derived rows are replaced in one transaction (the store keeps rollups
//! exact), so an interrupted run leaves every submission either as before or fully redone.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use tlsrpt_core::read::read_reports;
use tlsrpt_store::{NewReport, ReportOutcome, Store, StoredSubmission};

use crate::config::Config;
use crate::pipeline;

/// Submissions fetched per page.
const PAGE: u32 = 200;

#[derive(Debug, Args)]
pub struct ReprocessArgs {}

#[derive(Debug, Default)]
struct Tally {
    submissions: u64,
    reports: u64,
    duplicates: u64,
    unreadable: Vec<(String, String)>,
}

pub fn run(config: &Config, _args: ReprocessArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let tally = runtime.block_on(async {
        let store = Store::open(&config.database)
            .await
            .with_context(|| format!("opening database {}", config.redacted_database()))?;
        let tally = reprocess_all(&store, config).await?;
        store.close().await?;
        anyhow::Ok(tally)
    })?;
    println!(
        "Reprocessed {} submissions: {} reports, {} duplicates of other submissions, {} no longer readable (kept as they were).",
        tally.submissions,
        tally.reports,
        tally.duplicates,
        tally.unreadable.len()
    );
    for (source, reason) in &tally.unreadable {
        println!("  {source}: {reason}");
    }
    Ok(if tally.unreadable.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn reprocess_all(store: &Store, config: &Config) -> anyhow::Result<Tally> {
    let mut tally = Tally::default();
    let mut after = None;
    loop {
        let page = store.submissions(after, PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(tally);
        };
        after = Some(last.id);
        for submission in page {
            reprocess_one(store, config, submission, &mut tally).await?;
        }
    }
}

async fn reprocess_one(
    store: &Store,
    config: &Config,
    submission: StoredSubmission,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    tally.submissions += 1;
    let source = submission
        .source_name
        .clone()
        .unwrap_or_else(|| format!("submission {}", submission.id.0));
    let reports = match new_reports(&submission.raw, config) {
        Ok(reports) => reports,
        Err(reason) => {
            tally.unreadable.push((source, reason));
            return Ok(());
        }
    };
    let outcomes = store
        .replace_reports(submission.id, reports)
        .await
        .with_context(|| format!("replacing the reports of {source}"))?;
    for outcome in outcomes {
        match outcome {
            ReportOutcome::Stored { .. } => tally.reports += 1,
            ReportOutcome::Duplicate { .. } => tally.duplicates += 1,
        }
    }
    Ok(())
}

/// All reports of the submission, or the first reason it can no longer be read whole: a
/// submission is only replaced when every part reads, so nothing stored is lost.
fn new_reports(raw: &[u8], config: &Config) -> Result<Vec<NewReport>, String> {
    let reading = read_reports(raw, &config.limits).map_err(|e| e.to_string())?;
    reading
        .into_iter()
        .map(|part| part.map(pipeline::new_report).map_err(|e| e.to_string()))
        .collect()
}
