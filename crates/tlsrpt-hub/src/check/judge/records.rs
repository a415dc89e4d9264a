//! The discovery TXT records: `_smtp._tls` (RFC 8460 §3) and `_mta-sts` (RFC 8461 §3.1).
//! Syntax is the core parsers' job; this turns their problems into findings with fixes.

use tlsrpt_core::record::{
    Lookup, NoRecordReason, Outcome, RecordProblem, StsRecord, TlsrptRecord,
};

use crate::check::facts::TxtAnswer;
use crate::check::finding::{Check, Finding};

/// What differs between the two record types in their findings.
struct Kind {
    check: Check,
    /// The version token, to spot near misses such as `v=tlsrptv1`.
    version: &'static str,
    /// Why it matters when there is none.
    absent: &'static str,
    /// How to publish one, with `{domain}` substituted.
    publish: &'static str,
}

const TLSRPT: Kind = Kind {
    check: Check::TlsrptRecord,
    version: "tlsrptv1",
    absent: "senders send no TLS reports for this domain (RFC 8460 §3)",
    publish: "publish one: `tlsrpt-hub record tlsrpt {domain} --rua mailto:tlsrpt@{domain}` \
              prints the zone line",
};

const STS: Kind = Kind {
    check: Check::StsRecord,
    version: "stsv1",
    absent: "senders do not use MTA-STS for this domain, so TLS to your MX hosts stays \
             opportunistic and can be stripped (RFC 8461 §3.1)",
    publish: "serve a policy at https://mta-sts.{domain}/.well-known/mta-sts.txt \
              (`tlsrpt-hub record mta-sts-policy {domain}`), then publish \
              `tlsrpt-hub record mta-sts {domain}`",
};

/// Parsed records the judgement reads the same way.
trait Problems {
    fn errors(&self) -> &[RecordProblem];
    fn warnings(&self) -> &[RecordProblem];
}

impl Problems for TlsrptRecord {
    fn errors(&self) -> &[RecordProblem] {
        &self.errors
    }
    fn warnings(&self) -> &[RecordProblem] {
        &self.warnings
    }
}

impl Problems for StsRecord {
    fn errors(&self) -> &[RecordProblem] {
        &self.errors
    }
    fn warnings(&self) -> &[RecordProblem] {
        &self.warnings
    }
}

/// `_smtp._tls.<domain>`: exactly one valid TLSRPT record, every rua usable.
pub fn tlsrpt(domain: &str, answer: &TxtAnswer) -> Vec<Finding> {
    let name = format!("_smtp._tls.{domain}");
    let rrs = match rrs(domain, &name, answer, &TLSRPT) {
        Ok(rrs) => rrs,
        Err(finding) => return vec![finding],
    };
    let lookup = TlsrptRecord::select(rrs);
    let mut findings = judge(domain, &name, &lookup, &TLSRPT);
    if let Some(record) = lookup.selected().filter(|r| r.errors.is_empty()) {
        let uris: Vec<&str> = record.rua.iter().map(|uri| uri.uri.as_str()).collect();
        findings.insert(
            0,
            Finding::pass(
                Check::TlsrptRecord,
                &name,
                format!("one TLSRPT record; reports go to {}", uris.join(", ")),
            ),
        );
    }
    findings
}

/// `_mta-sts.<domain>`: the findings, and the policy id when senders would go on to
/// fetch the policy (exactly one valid record).
pub fn sts(domain: &str, answer: &TxtAnswer) -> (Vec<Finding>, Option<String>) {
    let name = format!("_mta-sts.{domain}");
    let rrs = match rrs(domain, &name, answer, &STS) {
        Ok(rrs) => rrs,
        Err(finding) => return (vec![finding], None),
    };
    let lookup = StsRecord::select(rrs);
    let mut findings = judge(domain, &name, &lookup, &STS);
    let id = lookup
        .selected()
        .filter(|r| r.errors.is_empty())
        .and_then(|r| r.id.clone());
    if let Some(id) = &id {
        findings.insert(
            0,
            Finding::pass(
                Check::StsRecord,
                &name,
                format!("one MTA-STS record, id={id}"),
            ),
        );
    }
    (findings, id)
}

fn rrs<'a>(
    domain: &str,
    name: &str,
    answer: &'a TxtAnswer,
    kind: &Kind,
) -> Result<&'a [Vec<Vec<u8>>], Finding> {
    match answer {
        TxtAnswer::Records(rrs) => Ok(rrs),
        TxtAnswer::NoRecords => Err(absent(domain, name, kind)),
        TxtAnswer::Failed(error) => Err(Finding::fail(
            kind.check,
            name,
            format!("the TXT lookup failed: {error}; senders that see this skip the domain"),
            "make sure every authoritative server of the zone answers for this name",
        )),
    }
}

/// A missing TLSRPT record fails (collecting reports is what this tool is for); a missing
/// MTA-STS record is a choice, so only a warning.
fn absent(domain: &str, name: &str, kind: &Kind) -> Finding {
    let message = format!("no record: {}", kind.absent);
    let fix = kind.publish.replace("{domain}", domain);
    match kind.check {
        Check::TlsrptRecord => Finding::fail(kind.check, name, message, fix),
        _ => Finding::warn(kind.check, name, message, fix),
    }
}

fn judge<R: Problems>(domain: &str, name: &str, lookup: &Lookup<R>, kind: &Kind) -> Vec<Finding> {
    match &lookup.outcome {
        Outcome::Selected { index } => {
            let record = &lookup.records[*index];
            problems(name, &record.text, &record.parsed, kind)
        }
        Outcome::NoRecord { reason, message } => {
            let fix = match reason {
                NoRecordReason::SeveralCandidates => {
                    "delete all but one record (merge their rua URIs into one list)".to_owned()
                }
                _ => kind.publish.replace("{domain}", domain),
            };
            let mut findings = vec![match reason {
                NoRecordReason::NoTxtRecords => absent(domain, name, kind),
                _ => Finding::fail(kind.check, name, message.clone(), fix),
            }];
            // A record that was meant to be one of ours (`v=tlsrptv1;…`, `rua=…; v=TLSRPTv1`)
            // gets its problems listed with their columns, so the author sees what to fix.
            for record in &lookup.records {
                if !record.candidate && record.text.to_ascii_lowercase().contains(kind.version) {
                    findings.extend(problems(name, &record.text, &record.parsed, kind));
                }
            }
            findings
        }
    }
}

fn problems<R: Problems>(name: &str, text: &str, parsed: &R, kind: &Kind) -> Vec<Finding> {
    let one = |problem: &RecordProblem, fail: bool| {
        let message = format!(
            "{:?} column {}: {} ({})",
            text, problem.column, problem.message, problem.code
        );
        if fail {
            Finding::fail(kind.check, name, message, problem.fix.clone())
        } else {
            Finding::warn(kind.check, name, message, problem.fix.clone())
        }
    };
    parsed
        .errors()
        .iter()
        .map(|p| one(p, true))
        .chain(parsed.warnings().iter().map(|p| one(p, false)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::finding::{Status, worst};

    fn txt(records: &[&str]) -> TxtAnswer {
        TxtAnswer::Records(
            records
                .iter()
                .map(|r| vec![r.as_bytes().to_vec()])
                .collect(),
        )
    }

    fn statuses(findings: &[Finding]) -> Vec<Status> {
        findings.iter().map(|f| f.status).collect()
    }

    #[test]
    fn one_valid_tlsrpt_record_passes_and_names_its_destinations() {
        let findings = tlsrpt(
            "example.com",
            &txt(&["v=spf1 -all", "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"]),
        );
        assert_eq!(statuses(&findings), [Status::Pass]);
        assert!(findings[0].message.contains("mailto:tlsrpt@example.com"));
        assert_eq!(findings[0].subject, "_smtp._tls.example.com");
    }

    #[test]
    fn missing_tlsrpt_fails_with_the_generator_command() {
        let findings = tlsrpt("example.com", &TxtAnswer::NoRecords);
        assert_eq!(statuses(&findings), [Status::Fail]);
        let fix = findings[0].fix.as_deref().unwrap();
        assert!(
            fix.contains("tlsrpt-hub record tlsrpt example.com"),
            "{fix}"
        );
        let only_spf = tlsrpt("example.com", &txt(&["v=spf1 -all"]));
        assert_eq!(worst(&only_spf), Status::Fail);
    }

    #[test]
    fn two_records_mean_none() {
        let findings = tlsrpt(
            "example.com",
            &txt(&[
                "v=TLSRPTv1; rua=mailto:a@example.com",
                "v=TLSRPTv1; rua=mailto:b@example.com",
            ]),
        );
        assert_eq!(statuses(&findings), [Status::Fail]);
        assert!(
            findings[0].message.contains("2 TXT records"),
            "{findings:?}"
        );
        assert!(findings[0].fix.as_deref().unwrap().contains("all but one"));
    }

    #[test]
    fn near_misses_show_their_columns() {
        let findings = tlsrpt(
            "example.com",
            &txt(&["v=tlsrptv1; rua=mailto:a@example.com"]),
        );
        assert_eq!(worst(&findings), Status::Fail);
        assert!(
            findings
                .iter()
                .any(|f| f.message.contains("column 3") && f.message.contains("version-case")),
            "{findings:?}"
        );
    }

    #[test]
    fn lookup_failure_is_not_absence() {
        let findings = tlsrpt("example.com", &TxtAnswer::Failed("SERVFAIL".into()));
        assert_eq!(statuses(&findings), [Status::Fail]);
        assert!(findings[0].message.contains("SERVFAIL"));
    }

    #[test]
    fn sts_record_gives_the_id_only_when_usable() {
        let (findings, id) = sts("example.com", &txt(&["v=STSv1; id=20260101T000000;"]));
        assert_eq!(statuses(&findings), [Status::Pass]);
        assert_eq!(id.as_deref(), Some("20260101T000000"));
        let (findings, id) = sts("example.com", &txt(&["v=STSv1; id=2026-01-01;"]));
        assert_eq!(worst(&findings), Status::Fail);
        assert_eq!(id, None);
        let (findings, id) = sts("example.com", &TxtAnswer::NoRecords);
        assert_eq!(statuses(&findings), [Status::Warn]);
        assert_eq!(id, None);
    }

    /// Broken records seen in the wild (zone editors, DMARC habits, copy-paste), with the
    /// status `check` must give and a code its output must name.
    #[test]
    fn real_world_broken_tlsrpt_records() {
        let table: &[(&str, Status, &str)] = &[
            (
                "v=TLSRPTv1; rua=mailto:tlsrpt@example.com, mailto:x@example.net",
                Status::Warn,
                "space-around-comma",
            ),
            (
                "v=TLSRPTv1; rua=http://report.example.com/tlsrpt",
                Status::Fail,
                "unsupported-scheme",
            ),
            (
                "v=TLSRPTv1; rua=mailto:tlsrpt@example.com!10m",
                Status::Fail,
                "size-suffix",
            ),
            (
                "rua=mailto:tlsrpt@example.com; v=TLSRPTv1",
                Status::Fail,
                "version-not-first",
            ),
            (
                "\"v=TLSRPTv1; rua=mailto:tlsrpt@example.com\"",
                Status::Fail,
                "quoted-record",
            ),
            (
                "v=TLSRPTv1 ; rua=mailto:tlsrpt@example.com",
                Status::Fail,
                "space-after-version",
            ),
            (
                "v=TLSRPTv1; rua=tlsrpt@example.com",
                Status::Fail,
                "missing-scheme",
            ),
            (
                "v=TLSRPTv1; rua=mailto:tlsrpt@example.com; ruf=mailto:f@example.com",
                Status::Warn,
                "dmarc-tag",
            ),
            ("v=TLSRPTv1;", Status::Fail, "missing-rua"),
            (
                "v=TLSRPTv1; rua=mailto:tlsrpt@example.com mailto:b@example.com",
                Status::Fail,
                "space-in-uri",
            ),
        ];
        for (record, status, code) in table {
            let findings = tlsrpt("example.com", &txt(&[record]));
            assert_eq!(worst(&findings), *status, "{record}: {findings:?}");
            assert!(
                findings.iter().any(|f| f.message.contains(code)),
                "{record}: no {code} in {findings:?}"
            );
            assert!(
                findings
                    .iter()
                    .filter(|f| f.status != Status::Pass)
                    .all(|f| f.fix.is_some()),
                "{record}: a finding without a fix"
            );
        }
    }
}
