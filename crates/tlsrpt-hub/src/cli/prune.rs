//! `tlsrpt-hub prune`: retention. Removes reports older than the retention period (see
//! [`tlsrpt_store::Store::prune`] for how each backend does it). `serve` runs the same
//! once a day when `retention_days` is set.

use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{Days, NaiveDate, Utc};
use clap::Args;
use tlsrpt_store::Store;

use crate::config::Config;

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Keep this many days of reports (by the day their date range starts) [default:
    /// config retention_days].
    #[arg(long, value_name = "DAYS")]
    older_than_days: Option<u32>,
}

pub fn run(config: &Config, args: PruneArgs) -> anyhow::Result<ExitCode> {
    let Some(days) = args.older_than_days.or(config.retention_days) else {
        bail!("prune needs --older-than-days or retention_days in the configuration");
    };
    let before = cutoff(Utc::now().date_naive(), days)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let pruned = runtime.block_on(async {
        let store = Store::open(&config.database)
            .await
            .with_context(|| format!("opening database {}", config.redacted_database()))?;
        let pruned = store.prune(before).await?;
        store.close().await?;
        anyhow::Ok(pruned)
    })?;
    println!(
        "Removed {} reports dated before {before} and {} raw submissions no report refers to.",
        pruned.reports, pruned.submissions
    );
    Ok(ExitCode::SUCCESS)
}

/// The first day kept when keeping `days` days up to and including `today`.
pub fn cutoff(today: NaiveDate, days: u32) -> anyhow::Result<NaiveDate> {
    if days == 0 {
        bail!("the retention period must be at least one day");
    }
    today
        .checked_sub_days(Days::new(u64::from(days) - 1))
        .context("retention period reaches before the calendar")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoff_keeps_exactly_the_given_days() {
        let today = NaiveDate::from_ymd_opt(2024, 5, 20).unwrap();
        assert_eq!(cutoff(today, 1).unwrap(), today);
        assert_eq!(
            cutoff(today, 30).unwrap(),
            NaiveDate::from_ymd_opt(2024, 4, 21).unwrap()
        );
        assert!(cutoff(today, 0).is_err());
    }
}
