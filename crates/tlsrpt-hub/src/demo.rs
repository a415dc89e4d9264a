//! `serve --demo`: a separate database filled with something to look at, so a newcomer sees
//! the dashboard and `show` working before any real sender has reported.
//!
//! Two kinds of reports go in, through the same pipeline as every other submission:
//! * the real-world samples bundled in the binary (`tests/fixtures/corpus/`: Google,
//!   Microsoft, Mail.ru, Stalwart, the RFC's example), quirks and all;
//! * [`DEMO_DAYS`] days of generated traffic up to yesterday for a dozen domains from
//!   `tlsrpt-synth` (deterministic: every demo shows the same world), so charts and trends
//!   have a history.

use chrono::{Days, NaiveDate, Utc};
use tlsrpt_core::extract::Limits;
use tlsrpt_store::{NewSubmission, Origin, ReportOutcome, Store};

use crate::ingest::Submission;
use crate::pipeline;

/// The database `serve --demo` uses unless `--db` names one: never the real one.
pub const DEMO_DATABASE: &str = "tlsrpt-hub-demo.db";

/// History the generated reports cover, ending yesterday (UTC).
const DEMO_DAYS: u32 = 60;
/// Recipient domains in the generated world.
const DEMO_DOMAINS: usize = 12;
/// Generated reports: about 60 a day, a mid-sized hosting customer base.
const DEMO_REPORTS: usize = 3_600;
/// Submissions per store transaction while seeding.
const BATCH: usize = 500;

macro_rules! sample {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../../../tests/fixtures/corpus/", $name)),
        )
    };
}
/// Real-world samples, byte for byte (origins in tests/fixtures/README.md).
const SAMPLES: &[(&str, &[u8])] = &[
    sample!("google-2022.eml"),
    sample!("google-2024-gateway-banner.eml"),
    sample!("google-2024-validation-failure.json"),
    sample!("google-shaped-7-day-range.json"),
    sample!("mailru-2024-fetch-errors.json"),
    sample!("microsoft-2023-no-timezone.eml"),
    sample!("microsoft-2025-sts-and-tlsa.json"),
    sample!("rfc8460-appendix-b.json"),
    sample!("stalwart-2026-null-contact.json"),
    sample!("synthetic-rpt01.eml"),
];

/// What seeding stored.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Seeded {
    pub reports: usize,
    /// Inputs the pipeline could not store (a bug if it is ever non-zero).
    pub rejected: Vec<String>,
}

/// Fills an empty store with the demo reports; a store that already holds reports is left
/// alone (restarting `serve --demo` keeps what was posted to it). `None` when it was not empty.
pub async fn seed(store: &Store, today: NaiveDate) -> anyhow::Result<Option<Seeded>> {
    if store.counts().await?.reports > 0 {
        return Ok(None);
    }
    let mut seeded = Seeded::default();
    let mut batch = Vec::with_capacity(BATCH);
    for submission in submissions(today)? {
        let prepared = pipeline::prepare(submission, &Limits::default());
        seeded.rejected.extend(
            prepared
                .rejections
                .iter()
                .map(|r| format!("{}: {r}", prepared.source_name)),
        );
        batch.extend(prepared.new);
        if batch.len() == BATCH {
            seeded.reports += store_batch(store, std::mem::take(&mut batch)).await?;
        }
    }
    seeded.reports += store_batch(store, batch).await?;
    Ok(Some(seeded))
}

async fn store_batch(store: &Store, batch: Vec<NewSubmission>) -> anyhow::Result<usize> {
    let mut stored = 0;
    for outcome in store.insert_batch(batch).await? {
        stored += outcome?
            .reports
            .iter()
            .filter(|r| matches!(r, ReportOutcome::Stored { .. }))
            .count();
    }
    Ok(stored)
}

/// Every demo input as the pipeline receives it: samples first, then the generated days.
fn submissions(today: NaiveDate) -> anyhow::Result<impl Iterator<Item = Submission>> {
    let start = today
        .checked_sub_days(Days::new(u64::from(DEMO_DAYS)))
        .ok_or_else(|| anyhow::anyhow!("date {today} is too early for a demo history"))?;
    let generated = tlsrpt_synth::Options {
        seed: tlsrpt_synth::DEFAULT_SEED,
        count: DEMO_REPORTS,
        start,
        days: DEMO_DAYS,
        domains: Some(DEMO_DOMAINS),
        gzip_ratio: 0.5,
    }
    .corpus()?;
    let samples = SAMPLES
        .iter()
        .map(|(name, bytes)| submission(format!("demo sample {name}"), bytes.to_vec()));
    let generated =
        generated.map(|file| submission(format!("demo {}", file.file_name), file.bytes));
    Ok(samples.chain(generated))
}

fn submission(source_name: String, raw: Vec<u8>) -> Submission {
    Submission {
        raw,
        origin: Origin::File,
        source_name,
        received_at: Utc::now(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn seeds_every_sample_and_the_generated_history_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.db");
        let store = Store::open(path.to_str().unwrap()).await.unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();

        let seeded = seed(&store, today)
            .await
            .unwrap()
            .expect("empty store is seeded");
        assert_eq!(seeded.rejected, Vec::<String>::new());
        // One report per sample and per generated file, except that synthetic-rpt01.eml
        // carries the same RFC 8460 Appendix B report as rfc8460-appendix-b.json: stored once.
        assert_eq!(seeded.reports, SAMPLES.len() - 1 + DEMO_REPORTS);
        let counts = store.counts().await.unwrap();
        assert_eq!(counts.reports as usize, seeded.reports);

        let rollups = store
            .daily_policy_rollups(&Default::default())
            .await
            .unwrap();
        let last_day = rollups.iter().map(|r| r.day).max().unwrap();
        assert_eq!(
            last_day,
            today.pred_opt().unwrap(),
            "history ends yesterday"
        );

        assert_eq!(
            seed(&store, today).await.unwrap(),
            None,
            "a second run adds nothing"
        );
        assert_eq!(store.counts().await.unwrap(), counts);
        store.close().await.unwrap();
    }
}
