//! Prometheus/OpenMetrics metrics for `serve`, exposed at `GET /metrics` on the HTTP(S)
//! listener (docs/metrics.md lists them with their labels).
//!
//! Label cardinality is bounded by construction: `origin`, `outcome` and `reason` are closed
//! enums; `policy_domain` takes the configured `[[domains]]` only, or when none are configured
//! the [`TOP_DOMAINS`] busiest; `result_type` is a registered RFC 8460 result type or `other`.
//! The per-domain gauges are recomputed from the daily rollups every [`REFRESH`], never from
//! detail rows, so a scrape costs nothing and the store is read at a fixed rate however often
//! Prometheus scrapes.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use chrono::{Days, NaiveDate, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use tlsrpt_core::ResultType;
use tlsrpt_store::{Origin, RollupFilter, Store};
use tokio::task::JoinHandle;

/// How often the per-domain gauges are recomputed from the rollups.
pub const REFRESH: Duration = Duration::from_secs(60);
/// The per-domain gauges cover this many days up to today (UTC).
pub const WINDOW_DAYS: u64 = 7;
/// How far back "last report" looks; older domains have no age gauge.
pub const AGE_HORIZON_DAYS: u64 = 90;
/// Domains with gauges when no `[[domains]]` are configured (`unknown_domains = "accept"`).
pub const TOP_DOMAINS: usize = 50;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OriginLabel {
    origin: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SubmissionLabels {
    origin: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectionLabels {
    origin: &'static str,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SessionLabels {
    policy_domain: String,
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    policy_domain: String,
    result_type: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SeverityLabel {
    severity: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    /// A configured `[[channels]]` name: bounded by the config.
    channel: String,
    outcome: &'static str,
}

/// What became of one alert delivery attempt or queued message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    /// One attempt failed (a retry may follow).
    Failed,
    /// The last attempt failed; the message is not delivered.
    GaveUp,
    /// Pushed out of a full queue.
    Dropped,
}

impl DeliveryOutcome {
    fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Failed => "failed",
            DeliveryOutcome::GaveUp => "gave_up",
            DeliveryOutcome::Dropped => "dropped",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DomainLabel {
    policy_domain: String,
}

/// What became of a submission, as the `outcome` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmissionOutcome {
    Stored,
    Duplicate,
    Refused(&'static str),
    Unavailable,
    Failed,
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    submissions: Family<SubmissionLabels, Counter>,
    rejections: Family<RejectionLabels, Counter>,
    bytes: Family<OriginLabel, Counter>,
    duration: Family<OriginLabel, Histogram>,
    store_up: Gauge,
    sessions: Family<SessionLabels, Gauge>,
    failed_sessions: Family<FailureLabels, Gauge>,
    last_report_age: Family<DomainLabel, Gauge<f64, AtomicU64>>,
    alerts_open: Family<SeverityLabel, Gauge>,
    deliveries: Family<DeliveryLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("tlsrpt");
        let submissions = Family::<SubmissionLabels, Counter>::default();
        registry.register(
            "submissions",
            "Submissions received, by origin and outcome (stored, duplicate, refused, unavailable, failed)",
            submissions.clone(),
        );
        let rejections = Family::<RejectionLabels, Counter>::default();
        registry.register(
            "rejections",
            "Submissions refused, by origin and reason",
            rejections.clone(),
        );
        let bytes = Family::<OriginLabel, Counter>::default();
        registry.register_with_unit(
            "submission",
            "Bytes received in submissions, as sent (before decompression)",
            Unit::Bytes,
            bytes.clone(),
        );
        let duration = Family::<OriginLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 14))
        });
        registry.register_with_unit(
            "submission_duration",
            "Time from receipt to the outcome (parse, check, commit)",
            Unit::Seconds,
            duration.clone(),
        );
        let store_up = Gauge::default();
        registry.register(
            "store_up",
            "1 if the last periodic read of the store succeeded, else 0",
            store_up.clone(),
        );
        let sessions = Family::<SessionLabels, Gauge>::default();
        registry.register(
            "domain_sessions_7d",
            "TLS sessions reported for the policy domain over the last 7 days (UTC), by result (successful, failed)",
            sessions.clone(),
        );
        let failed_sessions = Family::<FailureLabels, Gauge>::default();
        registry.register(
            "domain_failed_sessions_7d",
            "Failed TLS sessions reported for the policy domain over the last 7 days (UTC), by RFC 8460 result type",
            failed_sessions.clone(),
        );
        let last_report_age = Family::<DomainLabel, Gauge<f64, AtomicU64>>::default();
        registry.register_with_unit(
            "domain_last_report_age",
            "Time since the end of the latest UTC day any report covers for the policy domain (looks back 90 days)",
            Unit::Seconds,
            last_report_age.clone(),
        );
        let alerts_open = Family::<SeverityLabel, Gauge>::default();
        registry.register(
            "alerts_open",
            "Open alerts (issue 6 rules), by severity (critical, high, medium, low)",
            alerts_open.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "alert_deliveries",
            "Alert notification attempts and queued messages, by channel and outcome (delivered, failed, gave_up, dropped)",
            deliveries.clone(),
        );
        Metrics {
            registry,
            submissions,
            rejections,
            bytes,
            duration,
            store_up,
            sessions,
            failed_sessions,
            last_report_age,
            alerts_open,
            deliveries,
        }
    }

    /// Records what became of one notification attempt on a channel.
    pub fn delivery(&self, channel: &str, outcome: DeliveryOutcome) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                channel: channel.to_owned(),
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// Records one submission that reached the intake.
    pub fn submission(
        &self,
        origin: Origin,
        outcome: SubmissionOutcome,
        bytes: usize,
        took: Duration,
    ) {
        let origin = origin.as_str();
        let outcome = match outcome {
            SubmissionOutcome::Stored => "stored",
            SubmissionOutcome::Duplicate => "duplicate",
            SubmissionOutcome::Refused(reason) => {
                self.rejection(origin, reason);
                "refused"
            }
            SubmissionOutcome::Unavailable => "unavailable",
            SubmissionOutcome::Failed => "failed",
        };
        self.submissions
            .get_or_create(&SubmissionLabels { origin, outcome })
            .inc();
        self.bytes
            .get_or_create(&OriginLabel { origin })
            .inc_by(bytes as u64);
        self.duration
            .get_or_create(&OriginLabel { origin })
            .observe(took.as_secs_f64());
    }

    /// Records a refusal; `reason` is one of a fixed set of snake_case words.
    pub fn rejection(&self, origin: &'static str, reason: &'static str) {
        self.rejections
            .get_or_create(&RejectionLabels { origin, reason })
            .inc();
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }

    /// Recomputes the per-domain gauges every [`REFRESH`] until aborted. `domains` are the
    /// configured ones; empty means the busiest [`TOP_DOMAINS`].
    pub fn refresh_from(
        self: Arc<Self>,
        store: Arc<Store>,
        domains: Vec<String>,
    ) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(REFRESH);
            loop {
                ticks.tick().await;
                let ok = self.refresh(&store, &domains).await;
                self.store_up.set(i64::from(ok));
            }
        })
    }

    async fn refresh(&self, store: &Store, domains: &[String]) -> bool {
        let today = Utc::now().date_naive();
        let since = |days: u64| today.checked_sub_days(Days::new(days - 1));
        let filter = |days| RollupFilter {
            policy_domain: None,
            from: since(days),
            to: Some(today),
        };
        let (Ok(recent), Ok(failures), Ok(open)) = (
            store.daily_policy_rollups(&filter(AGE_HORIZON_DAYS)).await,
            store.daily_failure_rollups(&filter(WINDOW_DAYS)).await,
            store
                .alerts(&tlsrpt_store::AlertFilter {
                    state: Some(tlsrpt_store::AlertState::Open),
                    limit: u32::MAX >> 1,
                    ..Default::default()
                })
                .await,
        ) else {
            return false;
        };
        for severity in tlsrpt_analyze::Severity::ALL {
            let label = SeverityLabel {
                severity: severity.as_str(),
            };
            let count = open.iter().filter(|a| a.severity == label.severity).count();
            self.alerts_open
                .get_or_create(&label)
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
        let window_start = since(WINDOW_DAYS).unwrap_or(NaiveDate::MIN);
        let mut totals: HashMap<&str, (i64, i64, NaiveDate)> = HashMap::new();
        for row in &recent {
            let entry = totals
                .entry(row.policy_domain.as_str())
                .or_insert((0, 0, row.day));
            if row.day >= window_start {
                entry.0 = entry.0.saturating_add(gauge_value(row.successful));
                entry.1 = entry.1.saturating_add(gauge_value(row.failed));
            }
            entry.2 = entry.2.max(row.day);
        }
        let chosen: Vec<&str> = if domains.is_empty() {
            let mut busiest: Vec<(&str, i64)> = totals
                .iter()
                .filter(|(domain, _)| !domain.is_empty())
                .map(|(domain, (ok, failed, _))| (*domain, ok.saturating_add(*failed)))
                .collect();
            busiest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            busiest
                .into_iter()
                .take(TOP_DOMAINS)
                .map(|(d, _)| d)
                .collect()
        } else {
            domains.iter().map(String::as_str).collect()
        };
        self.sessions.clear();
        self.failed_sessions.clear();
        self.last_report_age.clear();
        let now = Utc::now();
        for domain in &chosen {
            let (ok, failed, last) = totals.get(domain).copied().unwrap_or_default();
            let label = |result| SessionLabels {
                policy_domain: (*domain).to_owned(),
                result,
            };
            self.sessions.get_or_create(&label("successful")).set(ok);
            self.sessions.get_or_create(&label("failed")).set(failed);
            if totals.contains_key(domain) {
                let end = last
                    .succ_opt()
                    .unwrap_or(last)
                    .and_time(chrono::NaiveTime::MIN)
                    .and_utc();
                let age = (now - end).num_milliseconds().max(0) as f64 / 1000.0;
                self.last_report_age
                    .get_or_create(&DomainLabel {
                        policy_domain: (*domain).to_owned(),
                    })
                    .set(age);
            }
        }
        for row in &failures {
            if !chosen.contains(&row.policy_domain.as_str()) {
                continue;
            }
            let result_type = match &row.result_type {
                ResultType::Other(_) => "other".to_owned(),
                known => known.as_str().to_owned(),
            };
            self.failed_sessions
                .get_or_create(&FailureLabels {
                    policy_domain: row.policy_domain.clone(),
                    result_type,
                })
                .inc_by(gauge_value(row.failed_sessions));
        }
        true
    }
}

/// Stored counts are u64 up to i64::MAX; gauges are i64.
fn gauge_value(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn open_alerts_are_counted_by_severity() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("m.db").to_str().unwrap())
            .await
            .unwrap();
        for (rule, severity) in [
            ("certificate-failure", "critical"),
            ("dane-failure", "high"),
        ] {
            store
                .open_alert(&tlsrpt_store::NewAlert {
                    domain: "example.com".into(),
                    rule: rule.into(),
                    severity: severity.into(),
                    opened_at: Utc::now(),
                    alert: "{}".into(),
                })
                .await
                .unwrap();
        }
        let resolved = store
            .open_alert(&tlsrpt_store::NewAlert {
                domain: "example.net".into(),
                rule: "certificate-failure".into(),
                severity: "critical".into(),
                opened_at: Utc::now(),
                alert: "{}".into(),
            })
            .await
            .unwrap()
            .unwrap();
        store.resolve_alert(resolved, Utc::now()).await.unwrap();
        let metrics = Metrics::new();
        assert!(metrics.refresh(&store, &[]).await);
        let text = metrics.render();
        for line in [
            r#"tlsrpt_alerts_open{severity="critical"} 1"#,
            r#"tlsrpt_alerts_open{severity="high"} 1"#,
            r#"tlsrpt_alerts_open{severity="medium"} 0"#,
            r#"tlsrpt_alerts_open{severity="low"} 0"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in {text}");
        }
        store.close().await.unwrap();
    }

    #[test]
    fn exposition_has_the_declared_families_and_labels() {
        let metrics = Metrics::new();
        metrics.submission(
            Origin::Http,
            SubmissionOutcome::Refused("not_a_report"),
            12,
            Duration::from_millis(3),
        );
        metrics.submission(Origin::Http, SubmissionOutcome::Stored, 30, Duration::ZERO);
        let text = metrics.render();
        for line in [
            "tlsrpt_submissions_total{origin=\"http\",outcome=\"refused\"} 1",
            "tlsrpt_submissions_total{origin=\"http\",outcome=\"stored\"} 1",
            "tlsrpt_rejections_total{origin=\"http\",reason=\"not_a_report\"} 1",
            "tlsrpt_submission_bytes_total{origin=\"http\"} 42",
            "tlsrpt_submission_duration_seconds_count{origin=\"http\"} 2",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing in:\n{text}"
            );
        }
        assert!(
            text.ends_with("# EOF\n"),
            "OpenMetrics text ends with # EOF"
        );
    }

    /// The Grafana dashboard (deploy/grafana) may only query metrics this module exports.
    #[test]
    fn the_dashboard_queries_only_exported_metrics() {
        let dashboard: serde_json::Value =
            serde_json::from_str(include_str!("../../../deploy/grafana/tlsrpt-hub.json"))
                .expect("dashboard JSON");
        let metrics = Metrics::new();
        metrics.submission(
            Origin::Http,
            SubmissionOutcome::Refused("too_large"),
            1,
            Duration::ZERO,
        );
        let domain = "example.com".to_owned();
        metrics
            .sessions
            .get_or_create(&SessionLabels {
                policy_domain: domain.clone(),
                result: "failed",
            })
            .set(1);
        metrics
            .failed_sessions
            .get_or_create(&FailureLabels {
                policy_domain: domain.clone(),
                result_type: "starttls-not-supported".into(),
            })
            .set(1);
        metrics
            .last_report_age
            .get_or_create(&DomainLabel {
                policy_domain: domain,
            })
            .set(1.0);
        let families: Vec<String> = metrics
            .render()
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .map(str::to_owned)
            .collect();
        let mut queried = 0;
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let expr = target["expr"].as_str().unwrap();
                for (at, _) in expr.match_indices("tlsrpt_") {
                    let name: String = expr[at..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    let known = families.iter().any(|family| {
                        name.strip_prefix(family.as_str()).is_some_and(|suffix| {
                            matches!(suffix, "" | "_total" | "_bucket" | "_count" | "_sum")
                        })
                    });
                    assert!(
                        known,
                        "panel {}: {name} is not exported ({families:?})",
                        panel["title"]
                    );
                    queried += 1;
                }
            }
        }
        assert!(queried >= 10, "the dashboard queries the metrics");
    }
}
