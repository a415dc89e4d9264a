//! The overview: one line per policy domain with its status.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Days, NaiveDate};
use serde::Serialize;
use tlsrpt_store::{DailyFailureRollup, DomainDay};

use crate::domain::Totals;
use crate::window::Window;

/// A domain with no report for this many days at the window's end is silent: reporters send
/// one report per UTC day (RFC 8460 §4.1) and deliver within a day or so, so two quiet days
/// are normal lag and three are not.
pub const SILENT_AFTER_DAYS: u64 = 3;
/// Success rate (per cent of sessions) from which a domain is `ok`: a handful of failures
/// from misconfigured senders is the background noise of every busy domain.
pub const OK_RATE: f64 = 99.0;
/// Success rate below which a domain is `failing` rather than `degraded`.
pub const FAILING_RATE: f64 = 90.0;
/// Findings whose last failure is this recent are "open".
pub const OPEN_FINDING_DAYS: u64 = 7;

/// How a domain is doing over a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Failing,
    Degraded,
    Silent,
    Ok,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Degraded => "degraded",
            Status::Failing => "failing",
            Status::Silent => "silent",
        }
    }

    /// Silent first (no news is the worst news for a monitor), then by success rate.
    pub fn of(totals: &Totals, last_day: Option<NaiveDate>, window: &Window) -> Status {
        let quiet_since = window
            .to
            .checked_sub_days(Days::new(SILENT_AFTER_DAYS - 1))
            .unwrap_or(NaiveDate::MIN);
        match (last_day, totals.success_rate) {
            (None, _) => Status::Silent,
            (Some(last), _) if last < quiet_since => Status::Silent,
            // Reports that counted no session at all say nothing is wrong.
            (_, None) => Status::Ok,
            (_, Some(rate)) if rate < FAILING_RATE => Status::Failing,
            (_, Some(rate)) if rate < OK_RATE => Status::Degraded,
            _ => Status::Ok,
        }
    }
}

/// One sparkline point: sessions of one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SparkPoint {
    pub day: NaiveDate,
    pub successful: u64,
    pub failed: u64,
}

/// One line of the overview.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DomainOverview {
    /// `""` for policies without a policy domain.
    pub domain: String,
    pub status: Status,
    pub totals: Totals,
    /// Last day with a report in the window.
    pub last_day: Option<NaiveDate>,
    /// Result types with failures in the last [`OPEN_FINDING_DAYS`] days of the window.
    pub open_findings: Vec<String>,
    /// One point per window day, zero-filled.
    pub sparkline: Vec<SparkPoint>,
}

/// Every domain with a report in the window, ordered by domain name.
///
/// `days` are [`tlsrpt_store::Store::domain_days`] and `failures` the failure rollups of all
/// domains, both for `window`; rows outside it are ignored.
pub fn overview(
    days: &[DomainDay],
    failures: &[DailyFailureRollup],
    window: &Window,
) -> Vec<DomainOverview> {
    let open_since = window
        .to
        .checked_sub_days(Days::new(OPEN_FINDING_DAYS - 1))
        .unwrap_or(NaiveDate::MIN);
    let mut open: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for f in failures {
        if f.failed_sessions > 0 && f.day >= open_since && window.contains(f.day) {
            open.entry(f.policy_domain.as_str())
                .or_default()
                .insert(f.result_type.as_str());
        }
    }
    let mut by_domain: BTreeMap<&str, Vec<&DomainDay>> = BTreeMap::new();
    for d in days.iter().filter(|d| window.contains(d.day)) {
        by_domain
            .entry(d.policy_domain.as_str())
            .or_default()
            .push(d);
    }
    by_domain
        .into_iter()
        .map(|(domain, rows)| {
            let mut sparkline: Vec<SparkPoint> = window
                .days()
                .map(|day| SparkPoint {
                    day,
                    successful: 0,
                    failed: 0,
                })
                .collect();
            let mut totals = Totals::default();
            let mut last_day = None;
            for row in rows {
                if let Some(i) = window.index(row.day) {
                    sparkline[i].successful += row.successful;
                    sparkline[i].failed += row.failed;
                }
                totals.add(row.successful, row.failed, row.reports);
                if row.reports > 0 {
                    last_day = last_day.max(Some(row.day));
                }
            }
            totals.finish();
            DomainOverview {
                domain: domain.to_owned(),
                status: Status::of(&totals, last_day, window),
                totals,
                last_day,
                open_findings: open
                    .get(domain)
                    .map(|set| set.iter().map(|s| (*s).to_owned()).collect())
                    .unwrap_or_default(),
                sparkline,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    fn totals(successful: u64, failed: u64) -> Totals {
        let mut t = Totals::default();
        t.add(successful, failed, 1);
        t.finish();
        t
    }

    #[test]
    fn status_thresholds() {
        let w = Window::ending(day(30), 30);
        assert_eq!(Status::of(&totals(990, 10), Some(day(30)), &w), Status::Ok);
        assert_eq!(
            Status::of(&totals(989, 11), Some(day(30)), &w),
            Status::Degraded
        );
        assert_eq!(
            Status::of(&totals(899, 101), Some(day(30)), &w),
            Status::Failing
        );
        // Two quiet days are lag, three are silence.
        assert_eq!(Status::of(&totals(10, 0), Some(day(28)), &w), Status::Ok);
        assert_eq!(
            Status::of(&totals(10, 0), Some(day(27)), &w),
            Status::Silent
        );
        assert_eq!(Status::of(&Totals::default(), None, &w), Status::Silent);
    }
}
