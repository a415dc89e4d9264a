//! [`Rule::SilentReporter`]: a daily reporter stopped (RFC 8460 §4.1: reports cover a day
//! each, so a regular reporter's silence means reports are lost, not that mail stopped).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use super::{Current, REGULAR_LOOKBACK_DAYS, REGULAR_MIN_DAYS, RuleSettings, days_before};
use crate::alert::{Alert, AlertEvidence, Rule, Severity};

pub(super) fn silent(current: &Current<'_>, settings: &RuleSettings) -> Option<Alert> {
    let mut days: BTreeMap<&str, BTreeSet<NaiveDate>> = BTreeMap::new();
    for p in current.policy_days().filter(|p| p.reports > 0) {
        days.entry(p.organization.as_str())
            .or_default()
            .insert(p.day);
    }
    // Today's reports are not due yet (they come tomorrow), so a reporter whose last day
    // is `today - 1 - N` has missed N days.
    let quiet_from = days_before(current.input.today, settings.silent_days + 1);
    let mut silent: Vec<(&str, NaiveDate)> = Vec::new();
    for (org, days) in &days {
        let last = *days.last().expect("a reporter has a day");
        if last > quiet_from {
            continue;
        }
        let habit_from =
            days_before(last, REGULAR_LOOKBACK_DAYS - 1).max(*days.first().expect("a day"));
        let span = (last - habit_from).num_days().unsigned_abs() + 1;
        let reported = days.range(habit_from..).count() as u64;
        // Daily: at least REGULAR_MIN_DAYS reports, on 80 % of the days it was active.
        if reported >= REGULAR_MIN_DAYS && reported * 10 >= span * 8 {
            silent.push((org, last));
        }
    }
    let since = silent.iter().map(|(_, last)| *last).max()?;
    let organizations: Vec<String> = silent.iter().map(|(o, _)| (*o).to_owned()).collect();
    let quiet = (current.input.today - since).num_days() - 1;
    Some(Alert {
        domain: current.domain().to_owned(),
        rule: Rule::SilentReporter,
        severity: Severity::Low,
        title: format!(
            "{} stopped reporting for {} ({quiet} days without a report)",
            organizations.join(", "),
            current.domain()
        ),
        cause: "A sender that reported every day sent no report for days: reports are being \
                lost on the way, or it no longer finds the reporting address."
            .to_owned(),
        action: "Check that the _smtp._tls TXT record is still published and that its rua \
                 destination accepts reports (mailbox not full, HTTPS endpoint up); \
                 `tlsrpt-hub check DOMAIN` shows both."
            .to_owned(),
        evidence: AlertEvidence {
            organizations,
            last_seen: Some(since),
            notes: silent
                .iter()
                .map(|(org, last)| format!("{org}: last report day {last}"))
                .collect(),
            ..Default::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::RuleSettings;
    use super::super::fixture::Data;
    use crate::alert::Rule;

    #[test]
    fn a_daily_reporter_silent_for_the_configured_days_fires() {
        let settings = RuleSettings::default();
        let mut data = Data::clean_days("google.com", 30, 100);
        data.add_clean_days(
            "microsoft.com",
            30 - u64::from(settings.silent_days) + 1,
            100,
        );
        assert!(
            !data.rules(&settings).contains(&Rule::SilentReporter),
            "one day short"
        );
        let mut data = Data::clean_days("google.com", 30, 100);
        data.add_clean_days("microsoft.com", 30 - u64::from(settings.silent_days), 100);
        let alerts = data.evaluate(&settings);
        let alert = data.only(&alerts, Rule::SilentReporter);
        assert_eq!(alert.evidence.organizations, ["microsoft.com"]);
    }

    #[test]
    fn a_weekly_reporter_never_goes_silent() {
        let mut data = Data::clean_days("google.com", 40, 100);
        for day in (0..25).step_by(7) {
            data.add_day("weekly.example", day, 10);
        }
        assert!(
            !data
                .rules(&RuleSettings::default())
                .contains(&Rule::SilentReporter)
        );
    }
}
