//! The engine inside `serve`: evaluates domains touched by new reports (debounced), every
//! domain on a schedule, and sends digests when due. Errors are logged and retried at the
//! next run; nothing here can fail ingestion, which only drops a domain name in a channel.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::Engine;
use super::digest::{self, Period};
use crate::serve::Control;

/// Domains waiting for evaluation; beyond this, new reports' domains are dropped and the
/// scheduled evaluation picks them up.
pub const TOUCHED_CAPACITY: usize = 1024;

/// The sending half goes to the intake ([`crate::serve::Intake::with_alerts`]).
pub fn touched_channel() -> (mpsc::Sender<String>, mpsc::Receiver<String>) {
    mpsc::channel(TOUCHED_CAPACITY)
}

pub struct Task {
    pub engine: Arc<Engine>,
    /// `[[domains]]`: evaluated even before their first report (check changes).
    pub configured: Vec<String>,
    /// The schedules `[[digests]]` use.
    pub digests: Vec<Period>,
}

impl Task {
    pub async fn run(
        self,
        mut touched: mpsc::Receiver<String>,
        control: Control,
    ) -> anyhow::Result<()> {
        let config = self.engine.config().clone();
        let mut scheduled = tokio::time::interval(config.evaluate_interval);
        scheduled.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sent: Vec<DateTime<Utc>> = self
            .digests
            .iter()
            .map(|schedule| self.due(*schedule, self.engine.now()))
            .collect();
        let mut pending: BTreeSet<String> = BTreeSet::new();
        let debounce = tokio::time::sleep(config.debounce);
        tokio::pin!(debounce);
        let shutdown = control.shutdown();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                Some(domain) = touched.recv() => {
                    if pending.is_empty() {
                        debounce.as_mut().reset(tokio::time::Instant::now() + config.debounce);
                    }
                    pending.insert(domain);
                }
                () = &mut debounce, if !pending.is_empty() => {
                    for domain in std::mem::take(&mut pending) {
                        self.evaluate(&domain).await;
                    }
                }
                _ = scheduled.tick() => {
                    pending.clear();
                    match self.engine.domains(&self.configured).await {
                        Ok(domains) => for domain in domains {
                            self.evaluate(&domain).await;
                        },
                        Err(error) => tracing::warn!("alert evaluation: listing domains failed: {error}"),
                    }
                    self.send_digests(&mut sent).await;
                }
            }
        }
    }

    async fn evaluate(&self, domain: &str) {
        if let Err(error) = self.engine.evaluate(domain).await {
            tracing::warn!(%domain, "alert evaluation failed (retried at the next run): {error}");
        }
    }

    fn due(&self, schedule: Period, now: DateTime<Utc>) -> DateTime<Utc> {
        let config = self.engine.config();
        digest::last_due(now, schedule, config.digest_hour, config.digest_weekday)
    }

    /// Sends every digest whose due time passed since it was last sent.
    pub async fn send_digests(&self, sent: &mut [DateTime<Utc>]) {
        let now = self.engine.now();
        for (schedule, last) in self.digests.iter().zip(sent.iter_mut()) {
            let due = self.due(*schedule, now);
            if due <= *last {
                continue;
            }
            let built = match self.engine.domains(&self.configured).await {
                Ok(domains) => {
                    let domains: Vec<String> = domains.into_iter().collect();
                    digest::build(&self.engine, &domains, digest::covered(due, *schedule)).await
                }
                Err(error) => Err(error),
            };
            match built {
                Ok(built) => {
                    self.engine.sink().digest(*schedule, built);
                    *last = due;
                }
                Err(error) => tracing::warn!(?schedule, "digest not built: {error}"),
            }
        }
    }
}
