//! Daily retention while serving (`retention_days`): prunes at start-up, then every day.
//! With several receivers on one PostgreSQL each prunes; the second finds nothing to do.

use std::sync::Arc;
use std::time::Duration;

use tlsrpt_store::Store;
use tokio::task::JoinHandle;

use crate::cli::retention_cutoff;

const EVERY: Duration = Duration::from_secs(24 * 60 * 60);

/// Runs until aborted (at shutdown, before the store is closed).
pub fn spawn(store: Arc<Store>, days: u32) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        loop {
            ticks.tick().await;
            let before = match retention_cutoff(chrono::Utc::now().date_naive(), days) {
                Ok(before) => before,
                Err(error) => return tracing::error!(%error, "retention disabled"),
            };
            match store.prune(before).await {
                Ok(pruned) => tracing::info!(
                    %before,
                    reports = pruned.reports,
                    submissions = pruned.submissions,
                    "retention: removed old reports"
                ),
                // Tried again tomorrow; nothing half-done stays behind (one transaction per
                // day or month).
                Err(error) => tracing::warn!(%error, "retention: pruning failed"),
            }
        }
    })
}
