//! Rules on a day's session counts (RFC 8460 §4.3 `summary`): the success rate and its
//! anomaly against the domain's own history.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use super::{Current, RuleSettings, days_before};
use crate::alert::{Alert, Rule, Severity};

/// A failure rate below this is treated as this, so a domain that never fails does not
/// alert on its first failed session out of thousands (that is [`Rule::NewResultType`]'s
/// job, at a lower severity).
pub const BASELINE_FLOOR: f64 = 0.001;

/// Sessions of one report day, all reporters and policy types together.
fn day_totals(current: &Current<'_>, day: NaiveDate) -> (u64, u64) {
    current
        .policy_days()
        .filter(|p| p.day == day)
        .fold((0, 0), |(ok, failed), p| {
            (ok + p.successful, failed + p.failed)
        })
}

/// The domain's latest report day's success rate fell below `min_success_rate`.
pub(super) fn low_success_rate(current: &Current<'_>, settings: &RuleSettings) -> Option<Alert> {
    let day = current.last_day?;
    let (ok, failed) = day_totals(current, day);
    let sessions = ok + failed;
    if sessions < settings.min_sessions.max(1) {
        return None;
    }
    let rate = ok as f64 * 100.0 / sessions as f64;
    if rate >= settings.min_success_rate {
        return None;
    }
    let mut alert = day_alert(
        current,
        day,
        Rule::LowSuccessRate,
        format!(
            "Success rate {rate:.1} % on {day} for {} (minimum {} %)",
            current.domain(),
            settings.min_success_rate
        ),
    );
    alert.evidence.failed_sessions = failed;
    alert.evidence.total_sessions = sessions;
    Some(alert)
}

/// The latest report day's failure rate is `anomaly_factor` times the baseline of the
/// `baseline_days` before it: something changed, even while the rate is still small.
pub(super) fn anomaly(current: &Current<'_>, settings: &RuleSettings) -> Option<Alert> {
    let day = current.last_day?;
    let (ok, failed) = day_totals(current, day);
    if failed == 0 {
        return None;
    }
    let from = days_before(day, settings.baseline_days);
    let mut baseline_days = BTreeSet::new();
    let (mut base_ok, mut base_failed) = (0u64, 0u64);
    for p in current
        .policy_days()
        .filter(|p| p.day >= from && p.day < day)
    {
        baseline_days.insert(p.day);
        base_ok += p.successful;
        base_failed += p.failed;
    }
    // Half the baseline period with reports, or there is no baseline to compare with.
    if (baseline_days.len() as u32) * 2 < settings.baseline_days || base_ok + base_failed == 0 {
        return None;
    }
    let rate = failed as f64 / (ok + failed) as f64;
    let baseline = base_failed as f64 / (base_ok + base_failed) as f64;
    if rate <= settings.anomaly_factor * baseline.max(BASELINE_FLOOR) {
        return None;
    }
    let mut alert = day_alert(
        current,
        day,
        Rule::FailureAnomaly,
        format!(
            "Failure rate {:.2} % on {day} for {}, {:.1}× its {}-day baseline",
            rate * 100.0,
            current.domain(),
            rate / baseline.max(BASELINE_FLOOR),
            settings.baseline_days
        ),
    );
    alert.evidence.failed_sessions = failed;
    alert.evidence.total_sessions = ok + failed;
    alert.evidence.notes.push(format!(
        "baseline failure rate {:.3} % over {} report days",
        baseline * 100.0,
        baseline_days.len()
    ));
    Some(alert)
}

/// A Medium alert about one day: evidence from that day's failure rows, cause and action
/// of its worst result type (or generic ones when the reports detail no failure, which
/// RFC 8460 §4.4 allows).
fn day_alert(current: &Current<'_>, day: NaiveDate, rule: Rule, title: String) -> Alert {
    let rows: Vec<_> = current.failure_days().filter(|r| r.day == day).collect();
    match current.failure_alert(rule, Severity::Medium, &rows, "") {
        Some(mut alert) => {
            alert.title = title;
            alert
        }
        None => Alert {
            domain: current.domain().to_owned(),
            rule,
            severity: Severity::Medium,
            title,
            cause: "Sending servers counted failed TLS sessions without detailing why.".to_owned(),
            action: "Run `tlsrpt-hub check --starttls` against the domain and read the \
                     reporters' raw reports for that day."
                .to_owned(),
            evidence: crate::alert::AlertEvidence {
                first_seen: Some(day),
                last_seen: Some(day),
                ..Default::default()
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::RuleSettings;
    use super::super::fixture::Data;
    use crate::alert::{Rule, Severity};

    #[test]
    fn a_day_below_the_minimum_success_rate_fires() {
        let mut data = Data::clean_days("google.com", 10, 1000);
        data.fail("google.com", 9, "validation-failure", 10, None);
        assert!(
            !data
                .rules(&RuleSettings::default())
                .contains(&Rule::LowSuccessRate),
            "exactly 99 %"
        );
        data.fail("google.com", 9, "validation-failure", 1, None);
        let alerts = data.evaluate(&RuleSettings::default());
        let alert = data.only(&alerts, Rule::LowSuccessRate);
        assert_eq!(alert.severity, Severity::Medium);
        assert_eq!(
            (
                alert.evidence.failed_sessions,
                alert.evidence.total_sessions
            ),
            (11, 1000)
        );
    }

    #[test]
    fn too_few_sessions_are_not_judged() {
        let mut data = Data::clean_days("google.com", 10, 5);
        data.fail("google.com", 9, "validation-failure", 2, None);
        assert!(
            !data
                .rules(&RuleSettings::default())
                .contains(&Rule::LowSuccessRate)
        );
    }

    #[test]
    fn three_times_the_baseline_is_an_anomaly() {
        let settings = RuleSettings::default();
        let mut data = Data::clean_days("google.com", 16, 1000);
        for day in 0..15 {
            data.fail("google.com", day, "validation-failure", 2, None);
        }
        data.fail("google.com", 15, "validation-failure", 5, None);
        assert!(
            !data.rules(&settings).contains(&Rule::FailureAnomaly),
            "2.5x"
        );
        data.fail("google.com", 15, "validation-failure", 2, None);
        let alerts = data.evaluate(&settings);
        let alert = data.only(&alerts, Rule::FailureAnomaly);
        assert!(
            alert.evidence.notes[0].contains("0.200 %"),
            "{:?}",
            alert.evidence.notes
        );
    }

    #[test]
    fn no_anomaly_without_a_baseline() {
        let mut data = Data::clean_days("google.com", 3, 1000);
        data.fail("google.com", 2, "validation-failure", 50, None);
        assert!(
            !data
                .rules(&RuleSettings::default())
                .contains(&Rule::FailureAnomaly)
        );
    }
}
