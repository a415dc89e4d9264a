//! The MX hosts themselves: their records and addresses, DANE TLSA (RFC 7672) and the
//! certificate each presents after STARTTLS (RFC 3207), judged as a sender would.

use chrono::{DateTime, Duration, Utc};
use tlsrpt_core::policy::tlsa::TlsaRecord;

use crate::check::facts::{CertificateProblem, HostAddresses, MxAnswer, StarttlsProbe, TlsaAnswer};
use crate::check::finding::{Check, Finding};

/// Certificates expiring sooner than this get a warning: enough time to renew by hand.
const EXPIRY_WARNING: Duration = Duration::days(14);

pub fn mx(domain: &str, answer: &MxAnswer) -> Vec<Finding> {
    match answer {
        MxAnswer::Hosts(hosts) if hosts.iter().any(|mx| mx.host.is_empty()) => vec![Finding::warn(
            Check::Mx,
            domain,
            "a null MX (RFC 7505): the domain accepts no mail, so TLS reports and MTA-STS are moot",
            "remove the TLSRPT and MTA-STS records, or publish real MX hosts",
        )],
        MxAnswer::Hosts(hosts) => {
            let list: Vec<String> = hosts
                .iter()
                .map(|mx| format!("{} {}", mx.preference, mx.host))
                .collect();
            vec![Finding::pass(
                Check::Mx,
                domain,
                format!("MX {}", list.join(", ")),
            )]
        }
        MxAnswer::NoRecords => vec![Finding::warn(
            Check::Mx,
            domain,
            "no MX records: senders deliver to the domain's own address (RFC 5321 §5.1), which \
             MTA-STS cannot cover",
            "publish MX records for the hosts that receive your mail",
        )],
        MxAnswer::Failed(error) => vec![Finding::fail(
            Check::Mx,
            domain,
            format!("the MX lookup failed: {error}"),
            "make sure every authoritative server of the zone answers MX queries",
        )],
    }
}

pub fn addresses(resolved: &HostAddresses) -> Finding {
    match &resolved.addresses {
        Ok(addresses) if !addresses.is_empty() => {
            let list: Vec<String> = addresses.iter().map(ToString::to_string).collect();
            Finding::pass(
                Check::Mx,
                &resolved.host,
                format!("resolves to {}", list.join(", ")),
            )
        }
        Ok(_) => Finding::fail(
            Check::Mx,
            &resolved.host,
            "the MX host has no A or AAAA record; senders cannot reach it",
            "add an address record for the MX host, or remove it from the MX set",
        ),
        Err(error) => Finding::fail(
            Check::Mx,
            &resolved.host,
            format!("address lookup failed: {error}"),
            "add an address record for the MX host, or remove it from the MX set",
        ),
    }
}

/// TLSA is optional: no record is a pass (no DANE). Records the resolver did not
/// authenticate are ignored by DANE senders (RFC 7672 §2.2), which is worth a warning.
pub fn tlsa(answer: &TlsaAnswer) -> Vec<Finding> {
    let name = format!("_25._tcp.{}", answer.host);
    let rrset = match &answer.lookup {
        Ok(rrset) => rrset,
        Err(error) => {
            return vec![Finding::warn(
                Check::Tlsa,
                &name,
                format!(
                    "TLSA lookup failed: {error}; DANE senders treat this as a failure and may defer mail"
                ),
                "make sure the zone's servers answer TLSA queries (NODATA when there are none)",
            )];
        }
    };
    if rrset.records.is_empty() {
        return vec![Finding::pass(
            Check::Tlsa,
            &name,
            "no TLSA records (no DANE for this host)",
        )];
    }
    let mut findings = Vec::new();
    for text in &rrset.records {
        match TlsaRecord::parse(text) {
            Ok(record) => {
                let notes = record.notes();
                if notes.is_empty() {
                    findings.push(Finding::pass(Check::Tlsa, &name, format!("TLSA {record}")));
                } else {
                    findings.push(Finding::warn(
                        Check::Tlsa,
                        &name,
                        format!("TLSA {record}: {}", notes.join("; ")),
                        "publish usage 3 (DANE-EE) or 2 (DANE-TA) records with selector 1 and SHA-256",
                    ));
                }
            }
            Err(error) => findings.push(Finding::fail(
                Check::Tlsa,
                &name,
                format!("TLSA {text:?}: {}", error.message),
                "republish the record in `usage selector matching-type hex` form",
            )),
        }
    }
    findings.push(if rrset.authentic_data {
        Finding::pass(Check::Tlsa, &name, "DNSSEC: the resolver validated the answer (AD bit set)")
    } else {
        Finding::warn(
            Check::Tlsa,
            &name,
            "DNSSEC: the resolver did not mark the answer authentic (AD bit clear); DANE senders \
             use TLSA records only when DNSSEC validates them (RFC 7672 §2.2)",
            "sign the zone with DNSSEC and publish its DS record, or ask a validating resolver (--resolver)",
        )
    });
    findings
}

/// What a sender would make of the certificate, in RFC 8460 result-type terms.
pub fn starttls(probe: &StarttlsProbe, now: DateTime<Utc>) -> Vec<Finding> {
    let host = &probe.host;
    let certificate = match &probe.outcome {
        Ok(certificate) => certificate,
        Err(error) => {
            return vec![Finding::fail(
                Check::Starttls,
                host,
                format!("{error} (senders report starttls-not-supported or a validation failure)"),
                "offer STARTTLS on port 25 with a certificate for this host name",
            )];
        }
    };
    let expiry = certificate
        .not_after
        .map(|at| format!("expires {}", at.format("%Y-%m-%d %H:%M UTC")))
        .unwrap_or_else(|| "expiry unknown".to_owned());
    let names = if certificate.names.is_empty() {
        "no DNS names".to_owned()
    } else {
        certificate.names.join(", ")
    };
    let renew = "renew the certificate (and automate renewal, e.g. with ACME)";
    let finding = match &certificate.verify_error {
        None => match certificate.not_after {
            Some(at) if at - now < EXPIRY_WARNING => Finding::warn(
                Check::Starttls,
                host,
                format!("certificate valid for {host} but {expiry}"),
                renew,
            ),
            _ => Finding::pass(
                Check::Starttls,
                host,
                format!("certificate valid for {host}, {expiry}"),
            ),
        },
        Some(CertificateProblem::Expired) => Finding::fail(
            Check::Starttls,
            host,
            format!("certificate expired ({expiry}); senders report certificate-expired"),
            renew,
        ),
        Some(CertificateProblem::NotYetValid) => Finding::fail(
            Check::Starttls,
            host,
            "certificate is not valid yet; senders report certificate-expired (check the server clock)",
            "install a certificate that is valid now",
        ),
        Some(CertificateProblem::HostMismatch) => Finding::fail(
            Check::Starttls,
            host,
            format!(
                "certificate names {names}, not {host}; senders report certificate-host-mismatch"
            ),
            format!("install a certificate whose subjectAltName includes {host}"),
        ),
        Some(CertificateProblem::NotTrusted) => Finding::fail(
            Check::Starttls,
            host,
            "certificate is not issued by a trusted CA; senders report certificate-not-trusted",
            "use a certificate from a public CA and send the intermediate certificates too",
        ),
        Some(CertificateProblem::Other(reason)) => Finding::fail(
            Check::Starttls,
            host,
            format!("certificate rejected: {reason}; senders report validation-failure"),
            "install a valid certificate from a public CA for this host name",
        ),
    };
    vec![finding]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::facts::{MxHost, PresentedCertificate, TlsaRrset};
    use crate::check::finding::Status;

    fn probe(verify_error: Option<CertificateProblem>, not_after: DateTime<Utc>) -> StarttlsProbe {
        StarttlsProbe {
            host: "mx.example.com".into(),
            outcome: Ok(PresentedCertificate {
                verify_error,
                not_after: Some(not_after),
                names: vec!["other.example.net".into()],
            }),
        }
    }

    #[test]
    fn certificate_verdicts_use_sender_result_types() {
        let now = Utc::now();
        let year = now + Duration::days(365);
        assert_eq!(starttls(&probe(None, year), now)[0].status, Status::Pass);
        assert_eq!(
            starttls(&probe(None, now + Duration::days(3)), now)[0].status,
            Status::Warn
        );
        let expired = &starttls(
            &probe(Some(CertificateProblem::Expired), now - Duration::days(1)),
            now,
        )[0];
        assert_eq!(expired.status, Status::Fail);
        assert!(expired.message.contains("certificate-expired"));
        let mismatch = &starttls(&probe(Some(CertificateProblem::HostMismatch), year), now)[0];
        assert!(
            mismatch
                .message
                .contains("other.example.net, not mx.example.com"),
            "{mismatch:?}"
        );
        let refused = StarttlsProbe {
            host: "mx.example.com".into(),
            outcome: Err("no STARTTLS in EHLO".into()),
        };
        assert_eq!(starttls(&refused, now)[0].status, Status::Fail);
    }

    #[test]
    fn tlsa_needs_dnssec_to_count() {
        let rrset = |authentic_data| TlsaAnswer {
            host: "mx.example.com".into(),
            lookup: Ok(TlsaRrset {
                records: vec![format!("3 1 1 {}", "ab".repeat(32))],
                authentic_data,
            }),
        };
        let signed = tlsa(&rrset(true));
        assert!(
            signed.iter().all(|f| f.status == Status::Pass),
            "{signed:?}"
        );
        let unsigned = tlsa(&rrset(false));
        assert_eq!(unsigned.last().unwrap().status, Status::Warn);
        let none = TlsaAnswer {
            host: "mx.example.com".into(),
            lookup: Ok(TlsaRrset {
                records: vec![],
                authentic_data: false,
            }),
        };
        assert_eq!(tlsa(&none)[0].status, Status::Pass);
        let short = TlsaAnswer {
            host: "mx.example.com".into(),
            lookup: Ok(TlsaRrset {
                records: vec!["3 1 1 abcd".into()],
                authentic_data: true,
            }),
        };
        assert_eq!(tlsa(&short)[0].status, Status::Warn);
    }

    #[test]
    fn mx_answers() {
        let hosts = MxAnswer::Hosts(vec![MxHost {
            preference: 10,
            host: "mx.example.com".into(),
        }]);
        assert_eq!(mx("example.com", &hosts)[0].status, Status::Pass);
        assert_eq!(
            mx("example.com", &MxAnswer::NoRecords)[0].status,
            Status::Warn
        );
        let unresolved = HostAddresses {
            host: "mx.example.com".into(),
            addresses: Ok(vec![]),
        };
        assert_eq!(addresses(&unresolved).status, Status::Fail);
    }
}
