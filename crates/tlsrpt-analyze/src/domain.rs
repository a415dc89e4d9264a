//! One domain over a window: totals, daily trend, breakdowns, findings, policy history.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Days, NaiveDate};
use serde::Serialize;
use tlsrpt_core::explain::explain;
use tlsrpt_core::{PolicyType, ResultType};
use tlsrpt_store::{DailyFailureRollup, DailyPolicyRollup, FailureGroup, FailureSpan, PolicySeen};

use crate::overview::{SILENT_AFTER_DAYS, Status};
use crate::readiness::{Readiness, readiness};
use crate::window::Window;

/// Fewest report days that make a reporter regular enough to be missed.
pub const REGULAR_MIN_DAYS: u64 = 5;

/// Session counts and their success rate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Totals {
    pub successful: u64,
    pub failed: u64,
    pub sessions: u64,
    pub reports: u64,
    /// Per cent of sessions that succeeded; `None` without sessions.
    pub success_rate: Option<f64>,
}

impl Totals {
    pub(crate) fn add(&mut self, successful: u64, failed: u64, reports: u64) {
        self.successful = self.successful.saturating_add(successful);
        self.failed = self.failed.saturating_add(failed);
        self.reports = self.reports.saturating_add(reports);
    }

    pub(crate) fn finish(&mut self) {
        self.sessions = self.successful.saturating_add(self.failed);
        self.success_rate =
            (self.sessions > 0).then(|| self.successful as f64 * 100.0 / self.sessions as f64);
    }
}

/// Everything the store holds about one domain for a window (see [`analyze_domain`]).
#[derive(Debug, Clone, Copy)]
pub struct DomainInput<'a> {
    pub domain: &'a str,
    pub window: Window,
    /// `Store::daily_policy_rollups` for this domain and window.
    pub policy_days: &'a [DailyPolicyRollup],
    /// `Store::daily_failure_rollups` for this domain and window.
    pub failure_days: &'a [DailyFailureRollup],
    /// `Store::policies_seen` for this domain and window.
    pub policies: &'a [PolicySeen],
    /// `Store::failure_groups` for this domain and window.
    pub failures: &'a [FailureGroup],
    /// `Store::failure_spans` for this domain (all days).
    pub spans: &'a [FailureSpan],
}

/// One day of the trend: successes and failed sessions per result type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DailyPoint {
    pub day: NaiveDate,
    pub successful: u64,
    pub failed: u64,
    /// Failed sessions per result type (as counted in failure details; a report's summary
    /// may count failures it details nowhere, RFC 8460 §4.4 leaves details optional).
    pub by_result: BTreeMap<String, u64>,
}

/// Sessions under one key of a breakdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breakdown {
    pub key: String,
    pub totals: Totals,
}

/// One result type seen in the window, explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub result_type: String,
    pub cause: &'static str,
    pub action: &'static str,
    pub failed_sessions: u64,
    pub details: u64,
    /// First and last day this result type was ever reported for the domain.
    pub first_seen: NaiveDate,
    pub last_seen: NaiveDate,
    /// First reported on the window's last day or the day before ("new since yesterday").
    pub new: bool,
    pub organizations: Vec<String>,
    pub receiving_mx_hosts: Vec<String>,
    pub sending_mta_ips: Vec<String>,
}

/// A distinct policy reporters saw, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyVersion {
    pub policy_type: String,
    pub policy_string: Vec<String>,
    pub mx_host: Vec<String>,
    /// The MTA-STS `mode` line, for `sts` policies that have one.
    pub sts_mode: Option<String>,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub organizations: Vec<String>,
    pub policies: u64,
    /// See [`PolicySeen::dane_host`].
    pub dane_host: bool,
}

/// A reporter that reported in the window but stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SilentReporter {
    pub organization: String,
    pub last_day: NaiveDate,
    pub days_reported: u64,
}

/// Per-reporter activity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReporterStatus {
    pub organization: String,
    pub totals: Totals,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub days_reported: u64,
}

/// The analysis of one domain over a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DomainAnalysis {
    pub domain: String,
    pub window: Window,
    pub status: Status,
    pub totals: Totals,
    pub last_day: Option<NaiveDate>,
    /// Result types in the daily points, most failed sessions first (the chart's stack order).
    pub result_types: Vec<String>,
    pub daily: Vec<DailyPoint>,
    pub by_organization: Vec<ReporterStatus>,
    pub by_policy_type: Vec<Breakdown>,
    /// Sessions per MTA-STS mode seen in `sts` policy strings.
    pub by_sts_mode: Vec<Breakdown>,
    /// Sessions per policy `mx-host` list (joined with ", ").
    pub by_mx_host: Vec<Breakdown>,
    /// Failed sessions per receiving MX host name named in failure details.
    pub failures_by_receiving_mx: Vec<Breakdown>,
    /// Failed sessions per sending MTA IP named in failure details.
    pub failures_by_sending_ip: Vec<Breakdown>,
    /// Recipient-domain policies and DANE MX-host policies kept apart.
    pub recipient_totals: Totals,
    pub dane_host_totals: Totals,
    pub findings: Vec<Finding>,
    pub policy_history: Vec<PolicyVersion>,
    pub silent_reporters: Vec<SilentReporter>,
    pub readiness: Readiness,
}

pub fn analyze_domain(input: &DomainInput<'_>) -> DomainAnalysis {
    let window = input.window;
    let policy_days: Vec<&DailyPolicyRollup> = input
        .policy_days
        .iter()
        .filter(|r| window.contains(r.day) && r.policy_domain == input.domain)
        .collect();
    let failure_days: Vec<&DailyFailureRollup> = input
        .failure_days
        .iter()
        .filter(|r| window.contains(r.day) && r.policy_domain == input.domain)
        .collect();

    let mut totals = Totals::default();
    let mut daily: Vec<DailyPoint> = window
        .days()
        .map(|day| DailyPoint {
            day,
            successful: 0,
            failed: 0,
            by_result: BTreeMap::new(),
        })
        .collect();
    let mut by_type: BTreeMap<String, Totals> = BTreeMap::new();
    let mut by_org: BTreeMap<&str, (Totals, BTreeSet<NaiveDate>)> = BTreeMap::new();
    let mut last_day = None;
    for r in &policy_days {
        totals.add(r.successful, r.failed, r.reports);
        by_type
            .entry(r.policy_type.as_str().to_owned())
            .or_default()
            .add(r.successful, r.failed, r.reports);
        let org = by_org.entry(r.organization.as_str()).or_default();
        org.0.add(r.successful, r.failed, r.reports);
        org.1.insert(r.day);
        if let Some(i) = window.index(r.day) {
            daily[i].successful += r.successful;
            daily[i].failed += r.failed;
        }
        if r.reports > 0 {
            last_day = last_day.max(Some(r.day));
        }
    }
    totals.finish();
    let mut result_totals: BTreeMap<String, u64> = BTreeMap::new();
    for f in &failure_days {
        if let Some(i) = window.index(f.day) {
            *daily[i]
                .by_result
                .entry(f.result_type.as_str().to_owned())
                .or_default() += f.failed_sessions;
        }
        *result_totals
            .entry(f.result_type.as_str().to_owned())
            .or_default() += f.failed_sessions;
    }
    let mut result_types: Vec<(String, u64)> = result_totals.into_iter().collect();
    result_types.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));

    let mut reporters: Vec<ReporterStatus> = by_org
        .into_iter()
        .map(|(org, (mut t, days))| {
            t.finish();
            ReporterStatus {
                organization: org.to_owned(),
                totals: t,
                first_day: *days.first().expect("a reporter has a day"),
                last_day: *days.last().expect("a reporter has a day"),
                days_reported: days.len() as u64,
            }
        })
        .collect();
    reporters.sort_by(|a, b| {
        b.totals
            .sessions
            .cmp(&a.totals.sessions)
            .then_with(|| a.organization.cmp(&b.organization))
    });

    let silent_reporters = silent_reporters(&reporters, last_day);
    let (by_sts_mode, by_mx_host, recipient_totals, dane_host_totals) =
        policy_breakdowns(input.policies);
    let status = Status::of(&totals, last_day, &window);
    let readiness = readiness(
        input.domain,
        &window,
        &policy_days,
        &failure_days,
        input.policies,
    );

    DomainAnalysis {
        domain: input.domain.to_owned(),
        window,
        status,
        totals,
        last_day,
        result_types: result_types.into_iter().map(|(t, _)| t).collect(),
        daily,
        by_organization: reporters,
        by_policy_type: finish_breakdown(by_type),
        by_sts_mode,
        by_mx_host,
        failures_by_receiving_mx: failure_breakdown(input.failures, |g| {
            g.receiving_mx_hostname.clone()
        }),
        failures_by_sending_ip: failure_breakdown(input.failures, |g| g.sending_mta_ip.clone()),
        recipient_totals,
        dane_host_totals,
        findings: findings(input.failures, input.spans, &window),
        policy_history: policy_history(input.policies),
        silent_reporters,
        readiness,
    }
}

/// Regular reporters whose last report is [`SILENT_AFTER_DAYS`] or more older than the
/// domain's last report: the domain still gets reports, just not from them. "Regular" means
/// at least [`REGULAR_MIN_DAYS`] report days, at least one every [`SILENT_AFTER_DAYS`] days
/// over their active span: a sender that mails the domain once a week never "went silent".
fn silent_reporters(
    reporters: &[ReporterStatus],
    domain_last: Option<NaiveDate>,
) -> Vec<SilentReporter> {
    let Some(cutoff) =
        domain_last.and_then(|d| d.checked_sub_days(Days::new(SILENT_AFTER_DAYS - 1)))
    else {
        return Vec::new();
    };
    reporters
        .iter()
        .filter(|r| {
            let span = (r.last_day - r.first_day).num_days().unsigned_abs() + 1;
            r.last_day < cutoff
                && r.days_reported >= REGULAR_MIN_DAYS
                && r.days_reported * SILENT_AFTER_DAYS >= span
        })
        .map(|r| SilentReporter {
            organization: r.organization.clone(),
            last_day: r.last_day,
            days_reported: r.days_reported,
        })
        .collect()
}

fn finish_breakdown(map: BTreeMap<String, Totals>) -> Vec<Breakdown> {
    let mut rows: Vec<Breakdown> = map
        .into_iter()
        .map(|(key, mut totals)| {
            totals.finish();
            Breakdown { key, totals }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.totals
            .sessions
            .cmp(&a.totals.sessions)
            .then_with(|| a.key.cmp(&b.key))
    });
    rows
}

/// The MTA-STS `mode` an `sts` policy string states, if any (RFC 8461 §3.2).
pub(crate) fn sts_mode(policy: &PolicySeen) -> Option<String> {
    (policy.policy_type == PolicyType::Sts)
        .then(|| tlsrpt_core::policy::StsPolicy::from_lines(&policy.policy_string).mode)
        .flatten()
        .map(|mode| mode.to_string())
}

type PolicyBreakdowns = (Vec<Breakdown>, Vec<Breakdown>, Totals, Totals);

fn policy_breakdowns(policies: &[PolicySeen]) -> PolicyBreakdowns {
    let mut modes: BTreeMap<String, Totals> = BTreeMap::new();
    let mut mx: BTreeMap<String, Totals> = BTreeMap::new();
    let mut recipient = Totals::default();
    let mut dane = Totals::default();
    for p in policies {
        if let Some(mode) = sts_mode(p) {
            modes
                .entry(mode)
                .or_default()
                .add(p.successful, p.failed, p.policies);
        }
        mx.entry(p.mx_host.join(", "))
            .or_default()
            .add(p.successful, p.failed, p.policies);
        if p.dane_host {
            dane.add(p.successful, p.failed, p.policies);
        } else {
            recipient.add(p.successful, p.failed, p.policies);
        }
    }
    recipient.finish();
    dane.finish();
    (
        finish_breakdown(modes),
        finish_breakdown(mx),
        recipient,
        dane,
    )
}

fn failure_breakdown(
    failures: &[FailureGroup],
    key: impl Fn(&FailureGroup) -> Option<String>,
) -> Vec<Breakdown> {
    let mut map: BTreeMap<String, Totals> = BTreeMap::new();
    for g in failures {
        let k = key(g).unwrap_or_else(|| "(not given)".to_owned());
        map.entry(k)
            .or_default()
            .add(0, g.failed_sessions, g.details);
    }
    finish_breakdown(map)
}

fn findings(failures: &[FailureGroup], spans: &[FailureSpan], window: &Window) -> Vec<Finding> {
    struct Acc {
        failed: u64,
        details: u64,
        first: NaiveDate,
        last: NaiveDate,
        orgs: BTreeSet<String>,
        mx: BTreeSet<String>,
        ips: BTreeSet<String>,
    }
    let mut by_type: BTreeMap<&ResultType, Acc> = BTreeMap::new();
    for g in failures {
        let acc = by_type.entry(&g.result_type).or_insert_with(|| Acc {
            failed: 0,
            details: 0,
            first: g.first_day,
            last: g.last_day,
            orgs: BTreeSet::new(),
            mx: BTreeSet::new(),
            ips: BTreeSet::new(),
        });
        acc.failed += g.failed_sessions;
        acc.details += g.details;
        acc.first = acc.first.min(g.first_day);
        acc.last = acc.last.max(g.last_day);
        acc.orgs.insert(g.organization.clone());
        acc.mx.extend(g.receiving_mx_hostname.clone());
        acc.ips.extend(g.sending_mta_ip.clone());
    }
    let yesterday = window.to.pred_opt().unwrap_or(window.to);
    let mut out: Vec<Finding> = by_type
        .into_iter()
        .map(|(result_type, acc)| {
            let span = spans.iter().find(|s| &s.result_type == result_type);
            let first_seen = span.map_or(acc.first, |s| s.first_day.min(acc.first));
            let explanation = explain(result_type);
            Finding {
                result_type: result_type.as_str().to_owned(),
                cause: explanation.cause,
                action: explanation.action,
                failed_sessions: acc.failed,
                details: acc.details,
                first_seen,
                last_seen: span.map_or(acc.last, |s| s.last_day.max(acc.last)),
                new: first_seen >= yesterday,
                organizations: acc.orgs.into_iter().collect(),
                receiving_mx_hosts: acc.mx.into_iter().collect(),
                sending_mta_ips: acc.ips.into_iter().collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.failed_sessions
            .cmp(&a.failed_sessions)
            .then_with(|| a.result_type.cmp(&b.result_type))
    });
    out
}

fn policy_history(policies: &[PolicySeen]) -> Vec<PolicyVersion> {
    let mut map: BTreeMap<(&str, &[String], &[String]), PolicyVersion> = BTreeMap::new();
    for p in policies {
        let v = map
            .entry((p.policy_type.as_str(), &p.policy_string, &p.mx_host))
            .or_insert_with(|| PolicyVersion {
                policy_type: p.policy_type.as_str().to_owned(),
                policy_string: p.policy_string.clone(),
                mx_host: p.mx_host.clone(),
                sts_mode: sts_mode(p),
                first_day: p.first_day,
                last_day: p.last_day,
                organizations: Vec::new(),
                policies: 0,
                dane_host: p.dane_host,
            });
        v.first_day = v.first_day.min(p.first_day);
        v.last_day = v.last_day.max(p.last_day);
        v.policies += p.policies;
        if !v.organizations.contains(&p.organization) {
            v.organizations.push(p.organization.clone());
        }
    }
    let mut out: Vec<PolicyVersion> = map.into_values().collect();
    for v in &mut out {
        v.organizations.sort();
    }
    out.sort_by(|a, b| {
        a.first_day
            .cmp(&b.first_day)
            .then_with(|| a.policy_type.cmp(&b.policy_type))
            .then_with(|| a.policy_string.cmp(&b.policy_string))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reporter(org: &str, first: u32, last: u32, days: u64) -> ReporterStatus {
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        ReporterStatus {
            organization: org.into(),
            totals: Totals::default(),
            first_day: day(first),
            last_day: day(last),
            days_reported: days,
        }
    }

    #[test]
    fn only_regular_reporters_go_silent() {
        let last = NaiveDate::from_ymd_opt(2026, 3, 30);
        let reporters = [
            reporter("daily-then-quiet", 1, 20, 20),
            reporter("daily-still-there", 1, 29, 29),
            reporter("weekly", 1, 22, 4),
            reporter("sparse", 1, 20, 5),
        ];
        let silent: Vec<String> = silent_reporters(&reporters, last)
            .into_iter()
            .map(|s| s.organization)
            .collect();
        assert_eq!(silent, ["daily-then-quiet"]);
    }
}
