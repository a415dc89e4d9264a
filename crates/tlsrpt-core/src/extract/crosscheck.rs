//! Message headers and file name versus the report JSON.
//!
//! RFC 8460 §5.6: the JSON is authoritative, so a disagreement never changes the report; it
//! is kept as a [`DiagnosticCode::HeaderMismatch`] so an admin can see a sender whose
//! headers are wrong (or a message whose headers were tampered with, as DKIM covers them).

use super::MessageMeta;
use crate::{Diagnostic, DiagnosticCode, Report};

/// Where a file name's policy domain is reported, in the diagnostic `path`.
const FILE_NAME: &str = "filename";

/// Compares what the message says with what the report says. A missing header, a report
/// without the compared field, or a file name not in §5.1 form is not a mismatch.
pub fn cross_check(
    meta: &MessageMeta,
    file_name: Option<&str>,
    report: &Report,
) -> Vec<Diagnostic> {
    let domains = report.policy_domains();
    [
        domain_check(
            "TLS-Report-Domain",
            meta.tls_report_domain.as_deref(),
            &domains,
        ),
        submitter_check(
            meta.tls_report_submitter.as_deref(),
            report.contact_domain().as_deref(),
        ),
        report_id_check(
            meta.subject_report_id.as_deref(),
            report.report_id.as_deref(),
        ),
        domain_check(
            FILE_NAME,
            file_name.and_then(file_name_policy_domain),
            &domains,
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// §5.3 `TLS-Report-Domain`, and §5.1's file name field, name the Policy Domain; a report
/// may cover several (sts for the domain, tlsa for its MX hosts, §1.1), so any one matches.
fn domain_check(path: &str, claimed: Option<&str>, domains: &[&str]) -> Option<Diagnostic> {
    let claimed = claimed?;
    if domains.is_empty() || domains.iter().any(|domain| same_domain(claimed, domain)) {
        return None;
    }
    let listed = domains
        .iter()
        .map(|domain| format!("{domain:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    Some(mismatch(
        path,
        format!("{path} names {claimed:?}, but the report's policy-domain is {listed}"),
    ))
}

/// §5.3: "The Submitter MUST match the domain of the contact-info". Skipped when
/// `contact-info` is missing or `null` (Stalwart).
fn submitter_check(submitter: Option<&str>, contact_domain: Option<&str>) -> Option<Diagnostic> {
    let (submitter, contact_domain) = (submitter?, contact_domain?);
    (!same_domain(submitter, contact_domain)).then(|| {
        mismatch(
            "TLS-Report-Submitter",
            format!(
                "TLS-Report-Submitter is {submitter:?}, but the domain of contact-info is \
                 {contact_domain:?} (RFC 8460 §5.3 requires them to match)"
            ),
        )
    })
}

fn report_id_check(subject_id: Option<&str>, report_id: Option<&str>) -> Option<Diagnostic> {
    let (subject_id, report_id) = (subject_id?, report_id?);
    (!same_report_id(subject_id, report_id)).then(|| {
        mismatch(
            "Subject",
            format!("the Subject's Report-ID is {subject_id:?}, but report-id is {report_id:?}"),
        )
    })
}

fn mismatch(path: &str, message: String) -> Diagnostic {
    Diagnostic::new(
        DiagnosticCode::HeaderMismatch,
        path,
        format!("{message}; the report's value is used (RFC 8460 §5.6)"),
    )
}

/// Domain names compare case-insensitively, and a trailing root dot changes nothing.
fn same_domain(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// Whether the Subject's Report-ID denotes the JSON's `report-id`.
///
/// They legitimately differ in form: §5.3 makes the Subject's id a msg-id (`id-left@id-right`)
/// while §4.4 leaves `report-id` free-form, so senders re-spell it. Google turns
/// `2022-09-15T00:00:00Z_test.xmox.nl` into `2022.09.15T00.00.00Z+test.xmox.nl@google.com`
/// (`-` and `:` become `.`, `_` becomes `+`, and its own domain is appended); Microsoft uses
/// the same string in both. Flagging Google on every report would bury real problems, so the
/// ids are compared by their letters and digits only, after dropping an `@id-right` the JSON
/// id does not have. A different date, domain or serial number is still a mismatch.
fn same_report_id(subject_id: &str, report_id: &str) -> bool {
    let subject_id = match subject_id.rsplit_once('@') {
        Some((left, _)) if !report_id.contains('@') => left,
        _ => subject_id,
    };
    alphanumerics(subject_id).eq(alphanumerics(report_id))
}

fn alphanumerics(id: &str) -> impl Iterator<Item = char> + '_ {
    id.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
}

/// The policy domain of a §5.1 file name,
/// `sender "!" policy-domain "!" begin "!" end [ "!" unique-id ] ".json" [ ".gz" ]`,
/// or `None` when the name does not have that form (the naming is only RECOMMENDED).
fn file_name_policy_domain(name: &str) -> Option<&str> {
    let stem = strip_suffix_ignore_case(name, ".json.gz")
        .or_else(|| strip_suffix_ignore_case(name, ".json"))?;
    let fields: Vec<&str> = stem.split('!').collect();
    let [_sender, domain, begin, end, unique_id @ ..] = fields.as_slice() else {
        return None;
    };
    let is_timestamp = |field: &str| !field.is_empty() && field.bytes().all(|b| b.is_ascii_digit());
    (!domain.is_empty() && is_timestamp(begin) && is_timestamp(end) && unique_id.len() <= 1)
        .then_some(*domain)
}

fn strip_suffix_ignore_case<'a>(name: &'a str, suffix: &str) -> Option<&'a str> {
    let split = name.len().checked_sub(suffix.len())?;
    let tail = name.get(split..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &name[..split])
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::{DateRange, Policy, PolicyResult, PolicyType, Summary};

    fn report(domains: &[&str], contact: Option<&str>, report_id: Option<&str>) -> Report {
        let policy = |domain: &&str| PolicyResult {
            policy: Policy {
                policy_type: PolicyType::Sts,
                policy_string: Vec::new(),
                policy_domain: Some((*domain).to_owned()),
                mx_host: Vec::new(),
            },
            summary: Summary::default(),
            failure_details: Vec::new(),
        };
        Report {
            organization_name: None,
            date_range: DateRange {
                start: DateTime::UNIX_EPOCH,
                end: DateTime::UNIX_EPOCH,
                start_raw: String::new(),
                end_raw: String::new(),
            },
            contact_info: contact.map(str::to_owned),
            report_id: report_id.map(str::to_owned),
            policies: domains.iter().map(policy).collect(),
        }
    }

    fn google_meta() -> MessageMeta {
        MessageMeta {
            tls_report_domain: Some("test.xmox.nl".into()),
            tls_report_submitter: Some("google.com".into()),
            subject_report_id: Some("2022.09.15T00.00.00Z+test.xmox.nl@google.com".into()),
            ..MessageMeta::default()
        }
    }

    fn google_report() -> Report {
        report(
            &["test.xmox.nl"],
            Some("smtp-tls-reporting@google.com"),
            Some("2022-09-15T00:00:00Z_test.xmox.nl"),
        )
    }

    fn paths(diagnostics: &[Diagnostic]) -> Vec<&str> {
        diagnostics.iter().map(|d| d.path.as_str()).collect()
    }

    #[test]
    fn google_agrees_with_itself() {
        let name = "google.com!test.xmox.nl!1663200000!1663286399!001.json.gz";
        assert_eq!(
            cross_check(&google_meta(), Some(name), &google_report()),
            []
        );
    }

    #[test]
    fn every_disagreement_is_noted_once() {
        let name = "google.com!other.example!1663200000!1663286399!001.json.gz";
        let mut meta = google_meta();
        meta.tls_report_domain = Some("wrong.example".into());
        meta.tls_report_submitter = Some("gmail.com".into());
        meta.subject_report_id = Some("2022.09.16T00.00.00Z+test.xmox.nl@google.com".into());
        let found = cross_check(&meta, Some(name), &google_report());
        assert_eq!(
            paths(&found),
            [
                "TLS-Report-Domain",
                "TLS-Report-Submitter",
                "Subject",
                FILE_NAME
            ]
        );
        assert!(
            found
                .iter()
                .all(|d| d.code == DiagnosticCode::HeaderMismatch)
        );
        assert!(
            found[0].message.contains("\"wrong.example\""),
            "{}",
            found[0].message
        );
        assert!(found[0].message.ends_with("(RFC 8460 §5.6)"));
    }

    #[test]
    fn missing_values_are_not_mismatches() {
        let empty = report(&[], None, None);
        assert_eq!(cross_check(&google_meta(), None, &empty), []);
        let without_headers = MessageMeta::default();
        assert_eq!(cross_check(&without_headers, None, &google_report()), []);
    }

    #[test]
    fn domains_compare_loosely_and_any_policy_domain_matches() {
        let mut meta = google_meta();
        meta.tls_report_domain = Some("MX1.Example.NET.".into());
        let both = report(&["example.net", "mx1.example.net"], None, None);
        assert_eq!(cross_check(&meta, None, &both), []);
        meta.tls_report_submitter = Some("Google.COM.".into());
        assert_eq!(cross_check(&meta, None, &google_report()).len(), 1);
    }

    #[test]
    fn report_id_forms() {
        assert!(same_report_id(
            "2022.09.15T00.00.00Z+test.xmox.nl@google.com",
            "2022-09-15T00:00:00Z_test.xmox.nl"
        ));
        assert!(same_report_id(
            "133198585438131172+test.xmox.nl",
            "133198585438131172+test.xmox.nl"
        ));
        assert!(same_report_id("a.b@example.net", "a.b@example.net"));
        assert!(!same_report_id("a.b@example.net", "a.b@example.org"));
        assert!(!same_report_id(
            "735ff.e317+bf22029@example.net",
            "5065427c-23d3-47ca-b6e0-946ea0e8c4be"
        ));
        assert!(!same_report_id(
            "2022.09.15T00.00.00Z+test.xmox.nl@google.com",
            "2022-09-15T00:00:00Z_other.xmox.nl"
        ));
    }

    #[test]
    fn file_names_per_section_5_1() {
        assert_eq!(
            file_name_policy_domain(
                "mail.sndr.example.com!example.net!1470013207!1470186007!001.json.gz"
            ),
            Some("example.net")
        );
        assert_eq!(
            file_name_policy_domain("s!example.net!1!2.JSON"),
            Some("example.net")
        );
        for not_5_1 in [
            "report.json",
            "s!example.net!1!2.json.zip",
            "s!example.net!start!2.json",
            "s!!1!2.json",
            "s!example.net!1!2!id!extra.json",
            "s!example.net!1!2.gz",
            "é.json",
            "",
        ] {
            assert_eq!(file_name_policy_domain(not_5_1), None, "{not_5_1}");
        }
    }
}
