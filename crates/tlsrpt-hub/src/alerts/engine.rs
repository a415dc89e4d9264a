//! Evaluation of one domain: rules → alert state in the store → notices.
//!
//! Per domain and rule (issue 6 "Delivery"):
//! * a rule that fires with no open alert opens one and sends an `Opened` notice, unless
//!   the same rule resolved less than `cooldown` ago (then it opens silently: a flapping
//!   problem is one notice);
//! * a rule that keeps firing refreshes the open alert's evidence and sends nothing, except a
//!   reminder after `remind_after` (or, for one opened silently, once it outlasts the
//!   cooldown) when nobody acknowledged or muted it;
//! * an open alert whose rule no longer fires is resolved, with a `Resolved` notice if its
//!   opening was notified and it is not muted.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Days, NaiveDate, Utc};
use tlsrpt_analyze::alerts::{RuleInput, evaluate};
use tlsrpt_analyze::{Alert, Notice, NoticeKind};
use tlsrpt_store::{
    AlertFilter, AlertState, NewAlert, RollupFilter, Store, StoreError, StoredAlert,
};

use super::{Clock, NoticeSink};
use crate::config::AlertsConfig;

/// Open alerts one domain can have at most (one per rule), with room to spare.
const OPEN_PER_DOMAIN: u32 = 100;

pub struct Engine {
    store: Arc<Store>,
    config: AlertsConfig,
    sink: Arc<dyn NoticeSink>,
    clock: Arc<dyn Clock>,
}

impl Engine {
    pub fn new(
        store: Arc<Store>,
        config: AlertsConfig,
        sink: Arc<dyn NoticeSink>,
        clock: Arc<dyn Clock>,
    ) -> Engine {
        Engine {
            store,
            config,
            sink,
            clock,
        }
    }

    pub fn config(&self) -> &AlertsConfig {
        &self.config
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub(crate) fn sink(&self) -> &Arc<dyn NoticeSink> {
        &self.sink
    }

    /// Every domain worth evaluating: configured ones, those with reports within the
    /// rules' history, and those with open alerts (so they can resolve).
    pub async fn domains(&self, configured: &[String]) -> Result<BTreeSet<String>, StoreError> {
        let today = self.now().date_naive();
        let mut domains: BTreeSet<String> = configured.iter().cloned().collect();
        let rows = self
            .store
            .daily_policy_rollups(&RollupFilter {
                policy_domain: None,
                from: Some(days_before(today, self.config.rules.history_days())),
                to: Some(today),
            })
            .await?;
        domains.extend(
            rows.into_iter()
                .map(|r| r.policy_domain)
                .filter(|d| !d.is_empty()),
        );
        let open = self
            .store
            .alerts(&AlertFilter {
                state: Some(AlertState::Open),
                limit: u32::MAX >> 1,
                ..Default::default()
            })
            .await?;
        domains.extend(open.into_iter().map(|a| a.domain));
        Ok(domains)
    }

    /// Evaluates `domain` now, updates its alerts and sends the notices due; returns them.
    pub async fn evaluate(&self, domain: &str) -> Result<Vec<Notice>, StoreError> {
        let now = self.now();
        let fired = self.fired(domain, now.date_naive()).await?;
        let open = self
            .store
            .alerts(&AlertFilter {
                state: Some(AlertState::Open),
                domain: Some(domain.to_owned()),
                limit: OPEN_PER_DOMAIN,
                ..Default::default()
            })
            .await?;
        let mut notices = Vec::new();
        for alert in &fired {
            let current = open.iter().find(|o| o.rule == alert.rule.as_str());
            let notice = match current {
                Some(stored) => self.keep(stored, alert, now).await?,
                None => self.open(alert, now).await?,
            };
            notices.extend(notice);
        }
        for stored in &open {
            if !fired.iter().any(|a| a.rule.as_str() == stored.rule) {
                notices.extend(self.resolve(stored, now).await?);
            }
        }
        for notice in &notices {
            self.sink.notice(notice.clone());
        }
        Ok(notices)
    }

    /// The rules that fire for `domain` on `today`.
    async fn fired(&self, domain: &str, today: NaiveDate) -> Result<Vec<Alert>, StoreError> {
        let settings = self.config.rules_for(domain);
        let from = days_before(today, settings.history_days());
        let filter = RollupFilter {
            policy_domain: Some(domain.to_owned()),
            from: Some(from),
            to: Some(today),
        };
        let policy_days = self.store.daily_policy_rollups(&filter).await?;
        let failure_days = self.store.daily_failure_rollups(&filter).await?;
        let failures = self.store.failure_groups(domain, from, today).await?;
        let spans = self.store.failure_spans(domain).await?;
        let check = self.store.latest_domain_check(domain).await?;
        Ok(evaluate(
            &RuleInput {
                domain,
                today,
                policy_days: &policy_days,
                failure_days: &failure_days,
                failures: &failures,
                spans: &spans,
                check: check.as_ref(),
            },
            settings,
        ))
    }

    async fn open(&self, alert: &Alert, now: DateTime<Utc>) -> Result<Option<Notice>, StoreError> {
        let previous = self
            .store
            .latest_alert(&alert.domain, alert.rule.as_str())
            .await?;
        let cooling = previous
            .and_then(|p| p.resolved_at)
            .is_some_and(|resolved| now < resolved + self.config.cooldown);
        let Some(id) = self.store.open_alert(&new_alert(alert, now)).await? else {
            // Another engine on the same database opened it first; it notifies.
            return Ok(None);
        };
        if cooling {
            tracing::info!(domain = %alert.domain, rule = alert.rule.as_str(), "alert re-opened within its cooldown: not notified");
            return Ok(None);
        }
        self.store.alert_notified(id, now).await?;
        Ok(Some(self.notice(NoticeKind::Opened, id, alert, now, None)))
    }

    async fn keep(
        &self,
        stored: &StoredAlert,
        alert: &Alert,
        now: DateTime<Utc>,
    ) -> Result<Option<Notice>, StoreError> {
        self.store
            .refresh_alert(stored.id, alert.severity.as_str(), &to_json(alert), now)
            .await?;
        // Opened silently within a cooldown: told once the problem outlasts the cooldown.
        // Notified before: told again after `remind_after`.
        let due = match stored.last_notified_at {
            None => Some(stored.opened_at + self.config.cooldown),
            Some(at) => self.config.remind_after.map(|after| at + after),
        };
        let remind = stored.acknowledged_at.is_none()
            && !muted(stored, now)
            && due.is_some_and(|due| now >= due);
        if !remind {
            return Ok(None);
        }
        self.store.alert_notified(stored.id, now).await?;
        Ok(Some(self.notice(
            NoticeKind::Opened,
            stored.id,
            alert,
            stored.opened_at,
            None,
        )))
    }

    async fn resolve(
        &self,
        stored: &StoredAlert,
        now: DateTime<Utc>,
    ) -> Result<Option<Notice>, StoreError> {
        if !self.store.resolve_alert(stored.id, now).await? {
            return Ok(None);
        }
        if stored.last_notified_at.is_none() || muted(stored, now) {
            return Ok(None);
        }
        let Some(alert) = from_json(stored) else {
            return Ok(None);
        };
        Ok(Some(self.notice(
            NoticeKind::Resolved,
            stored.id,
            &alert,
            stored.opened_at,
            Some(now),
        )))
    }

    fn notice(
        &self,
        kind: NoticeKind,
        alert_id: i64,
        alert: &Alert,
        opened_at: DateTime<Utc>,
        resolved_at: Option<DateTime<Utc>>,
    ) -> Notice {
        Notice {
            kind,
            alert_id,
            alert: alert.clone(),
            opened_at,
            resolved_at,
            link: self.config.domain_link(&alert.domain),
        }
    }
}

fn muted(alert: &StoredAlert, now: DateTime<Utc>) -> bool {
    alert.muted_until.is_some_and(|until| now < until)
}

fn new_alert(alert: &Alert, now: DateTime<Utc>) -> NewAlert {
    NewAlert {
        domain: alert.domain.clone(),
        rule: alert.rule.as_str().to_owned(),
        severity: alert.severity.as_str().to_owned(),
        opened_at: now,
        alert: to_json(alert),
    }
}

fn to_json(alert: &Alert) -> String {
    serde_json::to_string(alert).expect("an alert serialises")
}

/// The stored alert's content; `None` (logged) when it cannot be read back.
pub fn from_json(stored: &StoredAlert) -> Option<Alert> {
    serde_json::from_str(&stored.alert)
        .inspect_err(|e| tracing::error!(id = stored.id, "stored alert unreadable: {e}"))
        .ok()
}

/// The first day of `days` days ending with `day`.
pub(super) fn days_before(day: NaiveDate, days: u32) -> NaiveDate {
    day.checked_sub_days(Days::new(u64::from(days.max(1) - 1)))
        .unwrap_or(NaiveDate::MIN)
}
