//! `serve` runs the checks for every configured domain once a day and stores each run
//! with what changed since the previous one (a record removed, a policy id changed, MX
//! hosts out of sync), so the domain page and alert rules can use them.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use tlsrpt_store::{CheckChange, NewDomainCheck, Store};

use super::snapshot::{Snapshot, changes};
use super::{Checker, DomainReport, Options};
use crate::serve::Control;

pub struct DailyChecks {
    checker: Checker,
    domains: Vec<String>,
    interval: Duration,
    store: Arc<Store>,
}

impl DailyChecks {
    pub fn new(
        options: Options,
        domains: Vec<String>,
        interval: Duration,
        store: Arc<Store>,
    ) -> anyhow::Result<Self> {
        Ok(DailyChecks {
            checker: Checker::new(options).context("setting up the daily checks")?,
            domains,
            interval,
            store,
        })
    }

    /// Runs at once, then every `interval`, until shutdown. A failed run is logged and
    /// retried at the next interval: checks must never take the receivers down.
    pub async fn run(self, control: Control) -> anyhow::Result<()> {
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let shutdown = control.shutdown();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                _ = ticks.tick() => {
                    for domain in &self.domains {
                        tokio::select! {
                            () = &mut shutdown => return Ok(()),
                            result = self.check(domain) => if let Err(error) = result {
                                tracing::warn!(%domain, "daily check not stored: {error:#}");
                            },
                        }
                    }
                }
            }
        }
    }

    async fn check(&self, domain: &str) -> anyhow::Result<()> {
        let report = self.checker.domain(domain).await;
        let previous = self
            .store
            .latest_domain_check(&report.domain)
            .await?
            .and_then(|stored| serde_json::from_str::<Snapshot>(&stored.snapshot).ok());
        let run = stored_run(&report, previous.as_ref())?;
        self.store.insert_domain_check(&run).await?;
        tracing::info!(
            domain = %report.domain,
            status = report.status.as_str(),
            changes = run.changes.len(),
            "checked {}",
            report.domain
        );
        for change in &run.changes {
            tracing::warn!(domain = %report.domain, kind = %change.kind, "{}", change.detail);
        }
        Ok(())
    }
}

fn stored_run(
    report: &DomainReport,
    previous: Option<&Snapshot>,
) -> anyhow::Result<NewDomainCheck> {
    Ok(NewDomainCheck {
        domain: report.domain.clone(),
        checked_at: Utc::now(),
        status: report.status.as_str().to_owned(),
        snapshot: serde_json::to_string(&report.observed)?,
        findings: serde_json::to_string(&report.findings)?,
        changes: changes(previous, &report.observed)
            .into_iter()
            .map(|change| CheckChange {
                kind: change.kind.to_owned(),
                detail: change.detail,
            })
            .collect(),
    })
}

/// The daily checks `serve` runs, unless disabled or no domain is configured. A machine
/// without a DNS configuration or CA store cannot check, but can still receive reports:
/// that is a warning, not a reason to refuse to serve.
pub fn for_config(config: &crate::config::Config, store: Arc<Store>) -> Option<DailyChecks> {
    if !config.checks.enabled || config.domains.is_empty() {
        return None;
    }
    let options = Options {
        resolver: config.checks.resolver,
        timeout: Duration::from_secs(10),
        policy_host_override: None,
        ca_files: Vec::new(),
        starttls: false,
        smtp_port: super::SMTP_PORT,
    };
    let domains = config.domains.iter().map(|d| d.name.clone()).collect();
    DailyChecks::new(options, domains, config.checks.interval, store)
        .inspect_err(|error| tracing::warn!("daily checks disabled: {error:#}"))
        .ok()
}
