//! Rules on the result types of failure details (RFC 8460 §4.3).

use std::collections::BTreeSet;

use tlsrpt_core::ResultType;

use super::{Current, RuleSettings};
use crate::alert::{Alert, Rule, Severity};

/// §4.3.1 certificate failures: senders that validate (MTA-STS enforce, DANE) refuse to
/// deliver, so mail is bouncing or queueing now.
pub(super) fn certificate(current: &Current<'_>) -> Option<Alert> {
    let rows = current.current_failures(|t| {
        matches!(
            t,
            ResultType::CertificateExpired
                | ResultType::CertificateNotTrusted
                | ResultType::CertificateHostMismatch
        )
    });
    current.failure_alert(
        Rule::CertificateFailure,
        Severity::Critical,
        &rows,
        "Certificate failure",
    )
}

/// §4.3.1 `starttls-not-supported` from a major reporter: a real sender could not encrypt,
/// which is also what STARTTLS stripping by an attacker looks like.
pub(super) fn starttls(current: &Current<'_>, settings: &RuleSettings) -> Option<Alert> {
    let rows: Vec<_> = current
        .current_failures(|t| *t == ResultType::StarttlsNotSupported)
        .into_iter()
        .filter(|r| settings.is_major(&r.organization))
        .collect();
    current.failure_alert(
        Rule::StarttlsNotSupported,
        Severity::Critical,
        &rows,
        "STARTTLS not offered",
    )
}

/// §4.3.2.1 DANE failures above a threshold: typically TLSA records not updated after a
/// certificate rotation.
pub(super) fn dane(current: &Current<'_>, settings: &RuleSettings) -> Option<Alert> {
    let rows = current.current_failures(|t| {
        matches!(
            t,
            ResultType::DaneRequired | ResultType::TlsaInvalid | ResultType::DnssecInvalid
        )
    });
    let failed: u64 = rows.iter().map(|r| r.failed_sessions).sum();
    if failed < settings.dane_min_failed_sessions {
        return None;
    }
    let mut alert =
        current.failure_alert(Rule::DaneFailure, Severity::High, &rows, "DANE failure")?;
    alert.evidence.notes.push(format!(
        "{failed} failed sessions in the reporters' latest reports (threshold {})",
        settings.dane_min_failed_sessions
    ));
    Some(alert)
}

/// §4.3.2.2 MTA-STS failures that persist: still in a reporter's latest report and seen on
/// at least `sts_persist_days` report days, so a sender's one bad fetch is not an alert.
pub(super) fn sts(current: &Current<'_>, settings: &RuleSettings) -> Option<Alert> {
    let is_sts = |t: &ResultType| {
        matches!(
            t,
            ResultType::StsPolicyFetchError
                | ResultType::StsPolicyInvalid
                | ResultType::StsWebpkiInvalid
        )
    };
    let rows = current.current_failures(is_sts);
    let since = rows.iter().map(|r| r.day).min()?;
    let window_start = super::days_before(since, settings.stale_days);
    let days: BTreeSet<_> = current
        .failure_days()
        .filter(|r| is_sts(&r.result_type) && r.day >= window_start)
        .map(|r| r.day)
        .collect();
    if days.len() < settings.sts_persist_days as usize {
        return None;
    }
    let mut alert = current.failure_alert(
        Rule::StsPolicyFailure,
        Severity::High,
        &rows,
        "MTA-STS policy failure",
    )?;
    alert.evidence.first_seen = alert.evidence.first_seen.min(days.first().copied());
    alert
        .evidence
        .notes
        .push(format!("reported on {} days", days.len()));
    Some(alert)
}

#[cfg(test)]
mod tests {
    use super::super::RuleSettings;
    use super::super::fixture::Data;
    use crate::alert::{Rule, Severity};

    #[test]
    fn an_expired_certificate_yesterday_is_critical_and_names_mx_and_reporter() {
        let mut data = Data::clean_days("google.com", 10, 100);
        data.fail(
            "google.com",
            9,
            "certificate-expired",
            4,
            Some("mx1.example.com"),
        );
        let alerts = data.evaluate(&RuleSettings::default());
        let alert = data.only(&alerts, Rule::CertificateFailure);
        assert_eq!(alert.severity, Severity::Critical);
        assert!(alert.title.contains("mx1.example.com"), "{}", alert.title);
        assert!(alert.title.contains("google.com"), "{}", alert.title);
        assert_eq!(alert.evidence.failed_sessions, 4);
        assert_eq!(alert.evidence.result_types, ["certificate-expired"]);
        assert!(
            alert.action.to_lowercase().contains("certificate"),
            "{}",
            alert.action
        );
    }

    #[test]
    fn a_certificate_failure_followed_by_a_clean_report_does_not_fire() {
        let mut data = Data::clean_days("google.com", 10, 100);
        data.fail(
            "google.com",
            8,
            "certificate-expired",
            4,
            Some("mx1.example.com"),
        );
        let rules = data.rules(&RuleSettings::default());
        assert!(!rules.contains(&Rule::CertificateFailure), "{rules:?}");
    }

    #[test]
    fn starttls_not_supported_fires_for_major_reporters_only() {
        let mut data = Data::clean_days("Google Inc.", 10, 100);
        data.add_clean_days("tiny-mailer.example", 10, 100);
        data.fail("tiny-mailer.example", 9, "starttls-not-supported", 3, None);
        assert!(
            !data
                .rules(&RuleSettings::default())
                .contains(&Rule::StarttlsNotSupported)
        );
        data.fail(
            "Google Inc.",
            9,
            "starttls-not-supported",
            1,
            Some("mx2.example.com"),
        );
        let alerts = data.evaluate(&RuleSettings::default());
        let alert = data.only(&alerts, Rule::StarttlsNotSupported);
        assert_eq!(alert.severity, Severity::Critical);
        assert_eq!(alert.evidence.organizations, ["Google Inc."]);
    }

    #[test]
    fn dane_failures_fire_at_the_threshold_not_below() {
        let settings = RuleSettings::default();
        let mut data = Data::clean_days("microsoft.com", 10, 100);
        data.fail(
            "microsoft.com",
            9,
            "tlsa-invalid",
            settings.dane_min_failed_sessions - 1,
            None,
        );
        assert!(!data.rules(&settings).contains(&Rule::DaneFailure));
        data.fail("microsoft.com", 9, "dane-required", 1, None);
        let alerts = data.evaluate(&settings);
        assert_eq!(
            data.only(&alerts, Rule::DaneFailure).severity,
            Severity::High
        );
    }

    #[test]
    fn sts_failures_fire_once_they_persist() {
        let mut data = Data::clean_days("google.com", 10, 100);
        data.fail("google.com", 9, "sts-policy-fetch-error", 2, None);
        assert!(
            !data
                .rules(&RuleSettings::default())
                .contains(&Rule::StsPolicyFailure)
        );
        data.fail("google.com", 8, "sts-webpki-invalid", 2, None);
        let alerts = data.evaluate(&RuleSettings::default());
        let alert = data.only(&alerts, Rule::StsPolicyFailure);
        assert_eq!(alert.evidence.first_seen, Some(data.day(8)));
    }
}
