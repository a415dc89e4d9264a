//! What an alert says, shared by the rules that raise alerts and the channels that deliver
//! them (email, webhooks, digests), so every channel tells the same story.
//!
//! The rules themselves and the alert state machine build on these types; the channels only
//! render a [`Notice`] or a [`Digest`] and never look at the store.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// How urgently a person must act. Ordered from most to least urgent, so routing can say
/// "this severity or worse" with `<=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Mail is being refused or can be intercepted now (certificate failures, no STARTTLS).
    Critical,
    /// Mail will be refused once a policy is enforced, or DANE/MTA-STS is broken.
    High,
    /// Delivery quality dropped (success rate, anomalies).
    Medium,
    /// Worth knowing (a new sending IP, a silent reporter).
    Low,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }

    pub fn parse(name: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// The built-in alert rules (one open alert per domain and rule at a time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// `certificate-expired`, `certificate-not-trusted`, `certificate-host-mismatch`.
    CertificateFailure,
    /// `starttls-not-supported` from a major reporter: possible downgrade or stripping.
    StarttlsNotSupported,
    /// `dane-required`, `tlsa-invalid`, `dnssec-invalid` above a threshold.
    DaneFailure,
    /// A persisting `sts-policy-fetch-error`, `sts-policy-invalid` or `sts-webpki-invalid`.
    StsPolicyFailure,
    /// The domain's success rate over a day fell below the configured minimum.
    LowSuccessRate,
    /// The failure rate is well above the domain's trailing baseline.
    FailureAnomaly,
    /// A reporter that reported daily went silent.
    SilentReporter,
    /// A result type never reported before for this domain.
    NewResultType,
    /// A sending MTA IP never seen before in this domain's failure details.
    NewSendingIp,
    /// The daily DNS/MTA-STS check found a change (record removed, policy id changed, MX
    /// out of sync).
    CheckChange,
}

impl Rule {
    pub const ALL: [Rule; 10] = [
        Rule::CertificateFailure,
        Rule::StarttlsNotSupported,
        Rule::DaneFailure,
        Rule::StsPolicyFailure,
        Rule::LowSuccessRate,
        Rule::FailureAnomaly,
        Rule::SilentReporter,
        Rule::NewResultType,
        Rule::NewSendingIp,
        Rule::CheckChange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::CertificateFailure => "certificate-failure",
            Rule::StarttlsNotSupported => "starttls-not-supported",
            Rule::DaneFailure => "dane-failure",
            Rule::StsPolicyFailure => "sts-policy-failure",
            Rule::LowSuccessRate => "low-success-rate",
            Rule::FailureAnomaly => "failure-anomaly",
            Rule::SilentReporter => "silent-reporter",
            Rule::NewResultType => "new-result-type",
            Rule::NewSendingIp => "new-sending-ip",
            Rule::CheckChange => "check-change",
        }
    }

    pub fn parse(name: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|rule| rule.as_str() == name)
    }
}

/// Why an alert fired: what the reports (or the daily check) showed. Lists are sorted and
/// short enough to read; counts are sessions as reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertEvidence {
    /// The RFC 8460 result types involved, e.g. `certificate-expired`.
    pub result_types: Vec<String>,
    pub organizations: Vec<String>,
    pub receiving_mx_hosts: Vec<String>,
    pub sending_mta_ips: Vec<String>,
    /// Stored report ids (the store's, for links) of the reports that showed it.
    pub report_ids: Vec<i64>,
    pub failed_sessions: u64,
    pub total_sessions: u64,
    /// First and last report day that showed it.
    pub first_seen: Option<NaiveDate>,
    pub last_seen: Option<NaiveDate>,
    /// Anything rule-specific a person needs, one sentence each (e.g. "baseline 0.4 %").
    pub notes: Vec<String>,
}

/// One alert as a person reads it: enough to act without opening the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub domain: String,
    pub rule: Rule,
    pub severity: Severity,
    /// One line, e.g. "certificate-expired at mx1.example.net reported by Google".
    pub title: String,
    /// Plain-English cause and action (from `tlsrpt_core::explain` for result types).
    pub cause: String,
    pub action: String,
    pub evidence: AlertEvidence,
}

/// What happened to an alert, as delivered to a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoticeKind {
    Opened,
    Resolved,
    /// A manual `alerts test --channel`: the content is a sample.
    Test,
}

/// One message to channels: an alert opened or resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub kind: NoticeKind,
    /// The store's alert id (stable across opened/resolved, for threading and dedupe).
    pub alert_id: i64,
    pub alert: Alert,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Absolute URL of the domain's dashboard page, when `serve` knows its public URL.
    pub link: Option<String>,
}

/// One domain's line in a digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestDomain {
    pub domain: String,
    /// `crate::Status::as_str` of the domain over the digest's period.
    pub status: String,
    pub sessions: u64,
    pub failed_sessions: u64,
    pub success_rate: Option<f64>,
    /// Alerts open at the end of the period (clean domains have none and get one line).
    pub open_alerts: Vec<Alert>,
    pub link: Option<String>,
}

/// A daily or weekly summary of every domain a recipient follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    /// Report days covered, both ends included.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Problem domains first, then clean ones.
    pub domains: Vec<DigestDomain>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_round_trip_and_match_serde() {
        for rule in Rule::ALL {
            assert_eq!(Rule::parse(rule.as_str()), Some(rule));
            let json = serde_json::to_string(&rule).unwrap();
            assert_eq!(json, format!("\"{}\"", rule.as_str()));
        }
        assert_eq!(Rule::parse("certificate-expired"), None);
    }

    #[test]
    fn severities_order_from_most_urgent() {
        assert!(Severity::Critical < Severity::High);
        assert!(Severity::Medium < Severity::Low);
        assert_eq!(
            serde_json::to_string(&Severity::Critical).unwrap(),
            "\"critical\""
        );
    }
}
