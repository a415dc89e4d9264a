//! "Never seen before for this domain": a result type (over all stored days) or a sending
//! MTA IP (over the history window) that first showed up in the latest reports.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use super::{Current, days_before};
use crate::alert::{Alert, Rule, Severity};

/// Days from the domain's latest report day that still count as "new" (yesterday's
/// reports of some reporters arrive a day after others').
const NEW_DAYS: u32 = 1;

/// The first day that counts as new, when the domain has reports from before it (on its
/// first reports everything would be new, which says nothing).
fn new_since(current: &Current<'_>) -> Option<NaiveDate> {
    let since = days_before(current.last_day?, NEW_DAYS);
    current
        .policy_days()
        .any(|p| p.reports > 0 && p.day < since)
        .then_some(since)
}

pub(super) fn new_result_type(current: &Current<'_>) -> Option<Alert> {
    let since = new_since(current)?;
    let new: BTreeSet<_> = current
        .input
        .spans
        .iter()
        .filter(|s| s.first_day >= since && s.failed_sessions > 0)
        .map(|s| &s.result_type)
        .collect();
    let rows: Vec<_> = current
        .failure_days()
        .filter(|r| r.day >= since && new.contains(&r.result_type))
        .collect();
    let mut alert = current.failure_alert(Rule::NewResultType, Severity::Medium, &rows, "")?;
    alert.title = format!(
        "New result type {} for {}",
        alert.evidence.result_types.join(", "),
        current.domain()
    );
    Some(alert)
}

pub(super) fn new_sending_ip(current: &Current<'_>) -> Option<Alert> {
    let since = new_since(current)?;
    let mut first: BTreeMap<&str, NaiveDate> = BTreeMap::new();
    for group in current.input.failures {
        if let Some(ip) = group.sending_mta_ip.as_deref() {
            let day = first.entry(ip).or_insert(group.first_day);
            *day = (*day).min(group.first_day);
        }
    }
    let new: BTreeSet<&str> = first
        .into_iter()
        .filter(|(_, day)| *day >= since)
        .map(|(ip, _)| ip)
        .collect();
    if new.is_empty() {
        return None;
    }
    let groups = current.input.failures.iter().filter(|g| {
        g.sending_mta_ip
            .as_deref()
            .is_some_and(|ip| new.contains(ip))
    });
    let types: BTreeSet<_> = groups.clone().map(|g| &g.result_type).collect();
    let orgs: BTreeSet<_> = groups.map(|g| g.organization.as_str()).collect();
    let rows: Vec<_> = current
        .failure_days()
        .filter(|r| r.day >= since && types.contains(&r.result_type))
        .filter(|r| orgs.contains(r.organization.as_str()))
        .collect();
    let mut alert = current.failure_alert(Rule::NewSendingIp, Severity::Low, &rows, "")?;
    alert.evidence.sending_mta_ips = new.iter().map(|ip| (*ip).to_owned()).collect();
    alert.title = format!(
        "New sending IP {} in failure reports for {}",
        new.into_iter().collect::<Vec<_>>().join(", "),
        current.domain()
    );
    Some(alert)
}

#[cfg(test)]
mod tests {
    use super::super::RuleSettings;
    use super::super::fixture::Data;
    use crate::alert::Rule;

    #[test]
    fn a_result_type_first_reported_yesterday_is_new() {
        let mut data = Data::clean_days("google.com", 10, 100);
        data.fail("google.com", 9, "validation-failure", 1, None);
        let alerts = data.evaluate(&RuleSettings::default());
        let alert = data.only(&alerts, Rule::NewResultType);
        assert_eq!(alert.evidence.result_types, ["validation-failure"]);
    }

    #[test]
    fn a_result_type_seen_before_is_not_new() {
        let mut data = Data::clean_days("google.com", 10, 100);
        data.fail("google.com", 3, "validation-failure", 1, None);
        data.fail("google.com", 9, "validation-failure", 1, None);
        assert!(
            !data
                .rules(&RuleSettings::default())
                .contains(&Rule::NewResultType)
        );
    }

    #[test]
    fn nothing_is_new_on_a_domains_first_reports() {
        let mut data = Data::clean_days("google.com", 2, 100);
        data.fail_at(
            "google.com",
            1,
            "validation-failure",
            1,
            None,
            Some("192.0.2.1"),
        );
        let rules = data.rules(&RuleSettings::default());
        assert!(!rules.contains(&Rule::NewResultType), "{rules:?}");
        assert!(!rules.contains(&Rule::NewSendingIp), "{rules:?}");
    }

    #[test]
    fn a_sending_ip_first_seen_yesterday_is_new() {
        let mut data = Data::clean_days("google.com", 10, 100);
        data.fail_at(
            "google.com",
            4,
            "validation-failure",
            1,
            None,
            Some("192.0.2.1"),
        );
        data.fail_at(
            "google.com",
            9,
            "validation-failure",
            1,
            None,
            Some("192.0.2.1"),
        );
        assert!(
            !data
                .rules(&RuleSettings::default())
                .contains(&Rule::NewSendingIp)
        );
        data.fail_at(
            "google.com",
            9,
            "validation-failure",
            1,
            None,
            Some("198.51.100.7"),
        );
        let alerts = data.evaluate(&RuleSettings::default());
        let alert = data.only(&alerts, Rule::NewSendingIp);
        assert_eq!(alert.evidence.sending_mta_ips, ["198.51.100.7"]);
    }
}
