//! [`Rule::CheckChange`]: the daily DNS/MTA-STS check (`serve`'s `check/daily.rs`) found a
//! change since its previous run. The check's `kind`s are stable strings it stores.

use chrono::Days;

use super::Current;
use crate::alert::{Alert, AlertEvidence, Rule, Severity};

/// Changes that stop reports or MTA-STS from working: the others (an id or MX change) are
/// often intended, and worth a low-severity note.
const BREAKING: &[&str] = &[
    "tlsrpt-record-removed",
    "sts-record-removed",
    "mx-out-of-sync",
];

pub(super) fn check_change(current: &Current<'_>) -> Option<Alert> {
    let check = current.input.check?;
    let recent = current
        .input
        .today
        .checked_sub_days(Days::new(1))
        .is_some_and(|d| check.checked_at.date_naive() >= d);
    if check.changes.is_empty() || !recent {
        return None;
    }
    let breaking = check
        .changes
        .iter()
        .any(|c| BREAKING.contains(&c.kind.as_str()));
    let kinds: Vec<&str> = check.changes.iter().map(|c| c.kind.as_str()).collect();
    Some(Alert {
        domain: current.domain().to_owned(),
        rule: Rule::CheckChange,
        severity: if breaking {
            Severity::High
        } else {
            Severity::Low
        },
        title: format!("DNS check of {}: {}", current.domain(), kinds.join(", ")),
        cause: "The daily check of the domain's DNS records and MTA-STS policy found them \
                changed since its previous run."
            .to_owned(),
        action: if breaking {
            "Restore the record, or bring the MTA-STS policy's mx lines back in line with \
             the MX records (RFC 8461 §4.1), unless the change was intended; \
             `tlsrpt-hub check DOMAIN` shows the details."
        } else {
            "Confirm the change was intended; `tlsrpt-hub check DOMAIN` shows the details."
        }
        .to_owned(),
        evidence: AlertEvidence {
            first_seen: Some(check.checked_at.date_naive()),
            last_seen: Some(check.checked_at.date_naive()),
            notes: check
                .changes
                .iter()
                .map(|c| format!("{}: {}", c.kind, c.detail))
                .collect(),
            ..Default::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use tlsrpt_store::{CheckChange, DomainCheck};

    use super::super::RuleSettings;
    use super::super::fixture::Data;
    use crate::alert::{Rule, Severity};

    fn check(day: chrono::NaiveDate, kinds: &[&str]) -> DomainCheck {
        DomainCheck {
            id: 1,
            domain: "example.com".into(),
            checked_at: Utc.from_utc_datetime(&day.and_hms_opt(6, 0, 0).unwrap()),
            status: "warn".into(),
            snapshot: "{}".into(),
            findings: "[]".into(),
            changes: kinds
                .iter()
                .map(|k| CheckChange {
                    kind: (*k).into(),
                    detail: "was v=TLSRPTv1".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_removed_record_in_todays_check_is_high() {
        let mut data = Data::clean_days("google.com", 10, 100);
        data.check = Some(check(data.today, &[]));
        assert!(
            !data
                .rules(&RuleSettings::default())
                .contains(&Rule::CheckChange)
        );
        data.check = Some(check(data.today, &["tlsrpt-record-removed"]));
        let alerts = data.evaluate(&RuleSettings::default());
        let alert = data.only(&alerts, Rule::CheckChange);
        assert_eq!(alert.severity, Severity::High);
        assert!(alert.evidence.notes[0].contains("was v=TLSRPTv1"));
    }

    #[test]
    fn an_old_check_or_an_id_change_is_no_emergency() {
        let mut data = Data::clean_days("google.com", 10, 100);
        data.check = Some(check(data.day(2), &["tlsrpt-record-removed"]));
        assert!(
            !data
                .rules(&RuleSettings::default())
                .contains(&Rule::CheckChange)
        );
        data.check = Some(check(data.today, &["sts-policy-id-changed"]));
        let alerts = data.evaluate(&RuleSettings::default());
        assert_eq!(
            data.only(&alerts, Rule::CheckChange).severity,
            Severity::Low
        );
    }
}
