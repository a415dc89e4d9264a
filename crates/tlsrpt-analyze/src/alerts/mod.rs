//! The alert rules (issue 6): which problems in a domain's recent reports deserve a person's
//! attention now. Pure: the caller loads the rows ([`RuleInput`]) for
//! [`RuleSettings::history_days`] days up to "today" and passes "today" in, so every rule is
//! tested on hand-made rows and the engine that opens and resolves alerts owns the clock.
//!
//! Reports are daily and delayed (RFC 8460 §4.1, §5.5: up to a day late), so rules judge
//! each reporter by its own latest report ([`Current`]): a failure counts while the latest
//! report of a reporter that saw it still shows it, and an alert resolves once every such
//! reporter has sent a clean day (or stopped reporting for [`RuleSettings::stale_days`]).

mod checks;
mod failures;
mod novelty;
mod rates;
mod reporters;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Days, NaiveDate};
use tlsrpt_core::ResultType;
use tlsrpt_core::explain::explain;
use tlsrpt_store::{DailyFailureRollup, DailyPolicyRollup, DomainCheck, FailureGroup, FailureSpan};

use crate::alert::{Alert, AlertEvidence, Rule, Severity};

/// Reporters that send most of the world's TLS reports: a `starttls-not-supported` from one
/// of them is a real sender failing to encrypt, not a scanner's oddity. Matched
/// case-insensitively as a substring of `organization-name` (RFC 8460 §4.4), the only
/// reporter identity the daily rollups keep.
pub const DEFAULT_MAJOR_REPORTERS: &[&str] = &[
    "google",
    "microsoft",
    "yahoo",
    "comcast",
    "mail.ru",
    "yandex",
    "gmx",
    "web.de",
    "apple",
    "proton",
];

/// Thresholds of the rules; every one can be overridden per domain in `[alerts]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSettings {
    /// Rules that never fire.
    pub disabled: BTreeSet<Rule>,
    /// [`Rule::LowSuccessRate`]: per cent of a day's sessions that must succeed.
    pub min_success_rate: f64,
    /// [`Rule::LowSuccessRate`] judges only days with at least this many sessions, so one
    /// failed session out of three is not an alert.
    pub min_sessions: u64,
    /// [`Rule::FailureAnomaly`]: how many times the baseline failure rate is an anomaly.
    pub anomaly_factor: f64,
    /// [`Rule::FailureAnomaly`]: days before the judged day that make the baseline.
    pub baseline_days: u32,
    /// [`Rule::DaneFailure`]: failed sessions in the reporters' latest reports that fire it.
    pub dane_min_failed_sessions: u64,
    /// [`Rule::StsPolicyFailure`]: distinct report days an MTA-STS failure must show on
    /// before it counts as persisting (a one-day fetch error is the sender's network).
    pub sts_persist_days: u32,
    /// [`Rule::SilentReporter`]: days without a report from a daily reporter.
    pub silent_days: u32,
    /// A reporter's latest report older than this no longer keeps a failure current.
    pub stale_days: u32,
    /// See [`DEFAULT_MAJOR_REPORTERS`]; lower-case substrings of the organization name.
    pub major_reporters: Vec<String>,
}

impl Default for RuleSettings {
    fn default() -> Self {
        RuleSettings {
            disabled: BTreeSet::new(),
            min_success_rate: 99.0,
            min_sessions: 10,
            anomaly_factor: 3.0,
            baseline_days: 14,
            dane_min_failed_sessions: 5,
            sts_persist_days: 2,
            silent_days: 7,
            stale_days: 7,
            major_reporters: DEFAULT_MAJOR_REPORTERS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }
}

/// Days a reporter must have reported over [`REGULAR_LOOKBACK_DAYS`] to count as daily.
pub const REGULAR_MIN_DAYS: u64 = 5;
/// How far back [`Rule::SilentReporter`] looks for a reporter's regular habit.
pub const REGULAR_LOOKBACK_DAYS: u32 = 28;

impl RuleSettings {
    /// Days of rows (ending "today") the rules need: the anomaly baseline, and a silent
    /// reporter's habit before it went quiet.
    pub fn history_days(&self) -> u32 {
        (self.baseline_days + 1)
            .max(self.silent_days + REGULAR_LOOKBACK_DAYS)
            .max(self.stale_days + self.sts_persist_days)
    }

    fn is_major(&self, organization: &str) -> bool {
        let organization = organization.to_ascii_lowercase();
        self.major_reporters
            .iter()
            .any(|m| !m.is_empty() && organization.contains(&m.to_ascii_lowercase()))
    }
}

/// One domain's rows, as the store returns them, for `today - history_days + 1 ..= today`.
#[derive(Debug, Clone, Copy)]
pub struct RuleInput<'a> {
    pub domain: &'a str,
    /// The day the evaluation happens (UTC); rows after it are ignored.
    pub today: NaiveDate,
    /// `Store::daily_policy_rollups` for the domain.
    pub policy_days: &'a [DailyPolicyRollup],
    /// `Store::daily_failure_rollups` for the domain.
    pub failure_days: &'a [DailyFailureRollup],
    /// `Store::failure_groups` for the domain (MX hosts and sending IPs, for evidence and
    /// [`Rule::NewSendingIp`]).
    pub failures: &'a [FailureGroup],
    /// `Store::failure_spans` for the domain (all days: "never seen before").
    pub spans: &'a [FailureSpan],
    /// `Store::latest_domain_check` for the domain.
    pub check: Option<&'a DomainCheck>,
}

/// Every rule that fires for the domain now, at most one alert per rule, in
/// [`Rule::ALL`] order.
pub fn evaluate(input: &RuleInput<'_>, settings: &RuleSettings) -> Vec<Alert> {
    let current = Current::new(input, settings);
    let candidates = [
        failures::certificate(&current),
        failures::starttls(&current, settings),
        failures::dane(&current, settings),
        failures::sts(&current, settings),
        rates::low_success_rate(&current, settings),
        rates::anomaly(&current, settings),
        reporters::silent(&current, settings),
        novelty::new_result_type(&current),
        novelty::new_sending_ip(&current),
        checks::check_change(&current),
    ];
    candidates
        .into_iter()
        .flatten()
        .filter(|alert| !settings.disabled.contains(&alert.rule))
        .collect()
}

/// The input seen from "today": each reporter's latest report day, and the failure rows
/// those latest reports hold.
pub(crate) struct Current<'a> {
    input: &'a RuleInput<'a>,
    /// Latest day with a report, per organization (within `stale_days` of today).
    latest: BTreeMap<&'a str, NaiveDate>,
    /// The domain's latest report day, if any.
    last_day: Option<NaiveDate>,
}

impl<'a> Current<'a> {
    fn new(input: &'a RuleInput<'a>, settings: &RuleSettings) -> Self {
        let fresh_from = days_before(input.today, settings.stale_days.saturating_sub(1));
        let mut latest: BTreeMap<&str, NaiveDate> = BTreeMap::new();
        let mut last_day = None;
        for row in input.policy_days.iter().filter(|r| r.reports > 0) {
            if row.policy_domain != input.domain || row.day > input.today {
                continue;
            }
            last_day = last_day.max(Some(row.day));
            if row.day >= fresh_from {
                let day = latest.entry(row.organization.as_str()).or_insert(row.day);
                *day = (*day).max(row.day);
            }
        }
        Current {
            input,
            latest,
            last_day,
        }
    }

    fn domain(&self) -> &'a str {
        self.input.domain
    }

    fn policy_days(&self) -> impl Iterator<Item = &'a DailyPolicyRollup> + use<'a> {
        let (domain, today) = (self.input.domain, self.input.today);
        self.input
            .policy_days
            .iter()
            .filter(move |r| r.policy_domain == domain && r.day <= today)
    }

    fn failure_days(&self) -> impl Iterator<Item = &'a DailyFailureRollup> + use<'a> {
        let (domain, today) = (self.input.domain, self.input.today);
        self.input
            .failure_days
            .iter()
            .filter(move |r| r.policy_domain == domain && r.day <= today && r.failed_sessions > 0)
    }

    /// Failure rows of the reporters' latest reports whose result type `matches`.
    fn current_failures(
        &self,
        matches: impl Fn(&ResultType) -> bool,
    ) -> Vec<&'a DailyFailureRollup> {
        self.failure_days()
            .filter(|r| self.latest.get(r.organization.as_str()) == Some(&r.day))
            .filter(|r| matches(&r.result_type))
            .collect()
    }

    /// The alert for `rows` (failure rows of the reporters' latest reports): evidence from
    /// them and the failure groups behind them, cause and action of the worst result type.
    fn failure_alert(
        &self,
        rule: Rule,
        severity: Severity,
        rows: &[&DailyFailureRollup],
        what: &str,
    ) -> Option<Alert> {
        let worst = worst_result_type(rows)?;
        let evidence = self.failure_evidence(rows);
        let explanation = explain(worst);
        let mut title = format!("{what} for {}", self.domain());
        if let Some(mx) = list_short(&evidence.receiving_mx_hosts) {
            title.push_str(&format!(" at {mx}"));
        }
        if let Some(orgs) = list_short(&evidence.organizations) {
            title.push_str(&format!(" reported by {orgs}"));
        }
        Some(Alert {
            domain: self.domain().to_owned(),
            rule,
            severity,
            title,
            cause: explanation.cause.to_owned(),
            action: explanation.action.to_owned(),
            evidence,
        })
    }

    fn failure_evidence(&self, rows: &[&DailyFailureRollup]) -> AlertEvidence {
        let types: BTreeSet<&ResultType> = rows.iter().map(|r| &r.result_type).collect();
        let orgs: BTreeSet<&str> = rows.iter().map(|r| r.organization.as_str()).collect();
        let first_current = rows.iter().map(|r| r.day).min();
        let mut mx = BTreeSet::new();
        let mut ips = BTreeSet::new();
        for group in self.input.failures {
            let relevant = types.contains(&group.result_type)
                && orgs.contains(group.organization.as_str())
                && first_current.is_some_and(|d| group.last_day >= d);
            if relevant {
                mx.extend(group.receiving_mx_hostname.clone());
                ips.extend(group.sending_mta_ip.clone());
            }
        }
        let first_seen = self
            .input
            .spans
            .iter()
            .filter(|s| types.contains(&s.result_type))
            .map(|s| s.first_day)
            .chain(first_current)
            .min();
        let failed = rows.iter().map(|r| r.failed_sessions).sum();
        let total = self
            .policy_days()
            .filter(|p| self.latest.get(p.organization.as_str()) == Some(&p.day))
            .filter(|p| orgs.contains(p.organization.as_str()))
            .map(|p| p.successful.saturating_add(p.failed))
            .sum();
        AlertEvidence {
            result_types: types.iter().map(|t| t.as_str().to_owned()).collect(),
            organizations: orgs.iter().map(|o| (*o).to_owned()).collect(),
            receiving_mx_hosts: mx.into_iter().collect(),
            sending_mta_ips: ips.into_iter().collect(),
            report_ids: Vec::new(),
            failed_sessions: failed,
            total_sessions: total,
            first_seen,
            last_seen: rows.iter().map(|r| r.day).max(),
            notes: Vec::new(),
        }
    }
}

/// The result type with most failed sessions (ties by name, for stable titles).
fn worst_result_type<'a>(rows: &[&'a DailyFailureRollup]) -> Option<&'a ResultType> {
    let mut sums: BTreeMap<&ResultType, u64> = BTreeMap::new();
    for row in rows {
        *sums.entry(&row.result_type).or_default() += row.failed_sessions;
    }
    sums.into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(t, _)| t)
}

/// Up to three names joined for a title, "and N more" beyond.
fn list_short(names: &[String]) -> Option<String> {
    let (shown, rest) = names.split_at(names.len().min(3));
    (!shown.is_empty()).then(|| match rest.len() {
        0 => shown.join(", "),
        n => format!("{} and {n} more", shown.join(", ")),
    })
}

fn days_before(day: NaiveDate, days: u32) -> NaiveDate {
    day.checked_sub_days(Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MIN)
}

#[cfg(test)]
pub(crate) mod fixture;
