//! Round-trip and robustness properties of the report parser.
//!
//! Any model [`Report`] written with `to_rfc_json`, gzipped and mailed as a §5.3
//! `multipart/report` message comes back unchanged through `extract` and `parse_report`; and
//! no input, however broken, makes the parser panic.

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::collection::vec;
use proptest::prelude::*;
use tlsrpt_core::extract::{Limits, extract};
use tlsrpt_core::report::{parse_report, to_rfc_json};
use tlsrpt_core::{
    DateRange, FailureDetail, IpValue, Policy, PolicyResult, PolicyType, Report, ResultType,
    Summary,
};

/// A normalised domain: lower-case LDH labels, no trailing dot (what the parser produces).
fn domain() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?){0,3}"
}

/// Free text as senders put it in names and ids, including non-ASCII and JSON escapes.
fn text() -> impl Strategy<Value = String> {
    "\\PC{0,24}"
}

/// A registered value or an unregistered one, both as the parser maps them.
fn policy_type() -> impl Strategy<Value = PolicyType> {
    prop_oneof![
        proptest::sample::select(PolicyType::KNOWN),
        "[a-z][a-z-]{0,15}".prop_map(|text| PolicyType::from_wire(&text)),
    ]
}

/// As [`policy_type`], plus `Other("")`: a detail sent without `result-type`.
fn result_type() -> impl Strategy<Value = ResultType> {
    prop_oneof![
        proptest::sample::select(ResultType::KNOWN),
        "[a-z][a-z-]{0,15}".prop_map(|text| ResultType::from_wire(&text)),
        Just(ResultType::Other(String::new())),
    ]
}

/// A parsed address, or text that is no address (letters beyond hex cannot parse).
fn ip() -> impl Strategy<Value = IpValue> {
    prop_oneof![
        3 => any::<IpAddr>().prop_map(IpValue::Addr),
        1 => "[g-z.]{1,12}".prop_map(IpValue::Unparsed),
    ]
}

fn failure_detail() -> impl Strategy<Value = FailureDetail> {
    (
        result_type(),
        proptest::option::of(ip()),
        proptest::option::of(domain()),
        proptest::option::of(text()),
        proptest::option::of(ip()),
        any::<u64>(),
        proptest::option::of(text()),
        proptest::option::of(text()),
    )
        .prop_map(
            |(result_type, sending, hostname, helo, receiving, count, info, reason)| {
                FailureDetail {
                    result_type,
                    sending_mta_ip: sending,
                    receiving_mx_hostname: hostname,
                    receiving_mx_helo: helo,
                    receiving_ip: receiving,
                    failed_session_count: count,
                    additional_information: info,
                    failure_reason_code: reason,
                }
            },
        )
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        policy_type(),
        // No `[`: a lone element holding a JSON array would be unpacked (Microsoft quirk).
        vec("[a-zA-Z0-9 :_.*-]{0,40}", 0..5),
        proptest::option::of(domain()),
        vec(
            (any::<bool>(), domain()).prop_map(
                |(wild, name)| {
                    if wild { format!("*.{name}") } else { name }
                },
            ),
            0..3,
        ),
    )
        .prop_map(
            |(policy_type, policy_string, policy_domain, mx_host)| Policy {
                policy_type,
                policy_string,
                policy_domain,
                mx_host,
            },
        )
}

fn policy_result() -> impl Strategy<Value = PolicyResult> {
    (policy(), any::<(u64, u64)>(), vec(failure_detail(), 0..4)).prop_map(
        |(policy, (successful, failed), failure_details)| PolicyResult {
            policy,
            summary: Summary {
                total_successful_session_count: successful,
                total_failure_session_count: failed,
            },
            failure_details,
        },
    )
}

/// Whole UTC days, with the end written in one of the ways real senders write it.
fn date_range() -> impl Strategy<Value = DateRange> {
    (0u32..20_000, 1i64..8, 0usize..4).prop_map(|(day, days, style)| {
        let epoch = NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date");
        let start = (epoch + Duration::days(i64::from(day)))
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc();
        let end = start + Duration::days(days);
        let last_second = end - Duration::seconds(1);
        let end_raw = match style {
            0 => rfc3339(end, "Z"),
            1 => rfc3339(last_second, "Z"),
            2 => rfc3339(last_second, ".999Z"),
            _ => rfc3339(end, "+00:00"),
        };
        DateRange {
            start,
            end,
            start_raw: rfc3339(start, "Z"),
            end_raw,
        }
    })
}

fn rfc3339(at: DateTime<Utc>, suffix: &str) -> String {
    format!("{}{suffix}", at.format("%Y-%m-%dT%H:%M:%S"))
}

fn report() -> impl Strategy<Value = Report> {
    (
        proptest::option::of(text()),
        date_range(),
        proptest::option::of(text()),
        proptest::option::of(text()),
        vec(policy_result(), 0..4),
    )
        .prop_map(
            |(organization_name, date_range, contact_info, report_id, policies)| Report {
                organization_name,
                date_range,
                contact_info,
                report_id,
                policies,
            },
        )
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

/// RFC 2045 §6.8 base64 in 76-character lines.
fn base64_lines(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut encoded = String::new();
    for chunk in data.chunks(3) {
        let bits = chunk.iter().enumerate().fold(0u32, |bits, (i, &byte)| {
            bits | u32::from(byte) << (16 - 8 * i)
        });
        for i in 0..4 {
            encoded.push(if i <= chunk.len() {
                char::from(ALPHABET[(bits >> (18 - 6 * i) & 0x3f) as usize])
            } else {
                '='
            });
        }
    }
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|line| std::str::from_utf8(line).expect("ASCII"))
        .collect();
    lines.join("\r\n")
}

/// A report as mailed per RFC 8460 §5.3: `multipart/report`, a text part, and the report as
/// a base64 `application/tlsrpt+gzip` attachment.
fn report_mail(gzipped: &[u8]) -> Vec<u8> {
    format!(
        "From: tlsrpt@sender.example\r\n\
         To: tlsrpt@example.net\r\n\
         Subject: Report Domain: example.net Submitter: sender.example Report-ID: <r@sender.example>\r\n\
         TLS-Report-Domain: example.net\r\n\
         TLS-Report-Submitter: sender.example\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=\"tlsrpt\"; boundary=\"part\"\r\n\
         \r\n\
         --part\r\n\
         Content-Type: text/plain; charset=\"us-ascii\"\r\n\
         \r\n\
         This is an aggregate TLS report from sender.example\r\n\
         --part\r\n\
         Content-Type: application/tlsrpt+gzip\r\n\
         Content-Disposition: attachment; filename=\"sender.example!example.net!0!86400!001.json.gz\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n\
         {}\r\n\
         --part--\r\n",
        base64_lines(gzipped)
    )
    .into_bytes()
}

/// Byte-level damage to a valid report: flips, insertions, deletions and a truncation.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Delete(prop::sample::Index),
    Truncate(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // JSON's structural bytes are likelier to find a panic than random ones.
    let byte = prop_oneof![
        proptest::sample::select(b"{}[]\":,-.0123456789eEnulltrfa\\ \xef\xbb\xbf".to_vec()),
        any::<u8>(),
    ];
    prop_oneof![
        (any::<prop::sample::Index>(), byte.clone()).prop_map(|(at, b)| Mutation::Replace(at, b)),
        (any::<prop::sample::Index>(), byte).prop_map(|(at, b)| Mutation::Insert(at, b)),
        any::<prop::sample::Index>().prop_map(Mutation::Delete),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(bytes: &mut Vec<u8>, mutation: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    match mutation {
        Mutation::Replace(at, byte) => {
            let at = at.index(bytes.len());
            bytes[at] = *byte;
        }
        Mutation::Insert(at, byte) => bytes.insert(at.index(bytes.len() + 1), *byte),
        Mutation::Delete(at) => {
            bytes.remove(at.index(bytes.len()));
        }
        Mutation::Truncate(at) => bytes.truncate(at.index(bytes.len())),
    }
}

proptest! {
    #[test]
    fn mailed_report_round_trips(report in report()) {
        let json = to_rfc_json(&report);
        let found = extract(&report_mail(&gzip(&json)), &Limits::default())
            .map_err(|error| TestCaseError::fail(error.to_string()))?;
        prop_assert_eq!(found.len(), 1);
        prop_assert_eq!(&found[0].json, &json);
        let parsed = parse_report(&found[0].json)
            .map_err(|error| TestCaseError::fail(error.to_string()))?;
        prop_assert_eq!(parsed.report, report);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..512)) {
        let _ = parse_report(&bytes);
    }

    #[test]
    fn damaged_reports_never_panic(report in report(), mutations in vec(mutation(), 1..8)) {
        let mut bytes = to_rfc_json(&report);
        for mutation in &mutations {
            mutate(&mut bytes, mutation);
        }
        let _ = parse_report(&bytes);
    }
}

/// Writing a parsed real-sender report and parsing it again changes nothing: every
/// normalisation is idempotent and `to_rfc_json` loses nothing the model holds.
#[test]
fn corpus_reports_survive_write_and_reparse() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/corpus");
    let mut ran = 0;
    for entry in fs::read_dir(corpus).expect("corpus directory") {
        let path = entry.expect("directory entry").path();
        let bytes = fs::read(&path).expect("readable fixture");
        let jsons = match path.extension().and_then(|ext| ext.to_str()) {
            Some("json") => vec![bytes],
            _ => extract(&bytes, &Limits::default())
                .expect("extractable")
                .into_iter()
                .map(|found| found.json)
                .collect(),
        };
        for json in jsons {
            let first = parse_report(&json).expect("corpus parses").report;
            let again = parse_report(&to_rfc_json(&first)).expect("written report parses");
            assert_eq!(again.report, first, "{}", path.display());
            ran += 1;
        }
    }
    assert!(ran > 0, "no corpus reports");
}
