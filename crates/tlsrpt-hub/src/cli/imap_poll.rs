//! `tlsrpt-hub imap-poll`: one pass over every `[[imap]]` account, then exit — for users
//! who run it from cron or a systemd timer instead of keeping `serve` running. `serve` runs
//! the same poller continuously (with IDLE); both take the one intake path, so a message
//! stored by either is archived as a duplicate by the other.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use tlsrpt_store::Store;

use crate::config::Config;
use crate::ingest::imap::ImapPoller;
use crate::serve::Intake;

/// Polls each account once; fails (exit 1) if any account could not be polled or left
/// messages for lack of a working store, so cron reports it.
pub fn run(config: &Config) -> anyhow::Result<ExitCode> {
    if config.imap.is_empty() {
        bail!("no [[imap]] account in the configuration (see config/tlsrpt-hub.example.toml)");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(poll_all(config))
}

async fn poll_all(config: &Config) -> anyhow::Result<ExitCode> {
    let store = Arc::new(
        Store::open(&config.database)
            .await
            .with_context(|| format!("opening database {}", config.database))?,
    );
    let intake = Arc::new(Intake::for_config(Arc::clone(&store), config));
    let mut failed = false;
    for account in &config.imap {
        let label = account.label();
        let result = match ImapPoller::new(account.clone(), Arc::clone(&intake)) {
            Ok(poller) => poller.poll_once().await,
            Err(error) => Err(error),
        };
        match result {
            Ok(summary) => {
                println!(
                    "{label}: {} archived, {} to the error folder, {} left for the next poll",
                    summary.archived, summary.errored, summary.left
                );
                failed |= summary.left > 0;
            }
            Err(error) => {
                eprintln!("{label}: {error:#}");
                failed = true;
            }
        }
    }
    drop(intake);
    if let Ok(store) = Arc::try_unwrap(store) {
        store.close().await.context("closing the database")?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
