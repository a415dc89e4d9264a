//! `record` prints what to publish; everything it prints must parse clean with the same
//! parsers `check` will use.

use tlsrpt_core::policy::sts::{StsMode, StsPolicy};
use tlsrpt_core::record::{StsRecord, TlsrptRecord, Verdict};

use crate::{run, stderr, stdout};

/// `NAME IN TXT "a" "b"` → (`NAME`, `ab`): character-strings joined as receivers do.
fn zone_line(text: &str) -> (String, String) {
    let (name, rest) = text
        .trim_end()
        .split_once(" IN TXT ")
        .expect("zone-file line");
    let value = rest
        .split('"')
        .skip(1)
        .step_by(2)
        .collect::<Vec<_>>()
        .concat();
    (name.to_owned(), value)
}

#[test]
fn tlsrpt_record_is_published_clean() {
    let output = run(&[
        "record",
        "tlsrpt",
        "Example.COM.",
        "--rua",
        "mailto:tlsrpt@example.com",
        "--rua",
        "https://reports.example.net/v1/tlsrpt/abc",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let (name, value) = zone_line(&stdout(&output));
    assert_eq!(name, "_smtp._tls.example.com.");
    assert_eq!(
        value,
        "v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://reports.example.net/v1/tlsrpt/abc"
    );
    assert_eq!(TlsrptRecord::parse(&value).verdict(), Verdict::Valid);
}

#[test]
fn mta_sts_record_gets_a_fresh_valid_id() {
    let output = run(&["record", "mta-sts", "example.com"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let (name, value) = zone_line(&stdout(&output));
    assert_eq!(name, "_mta-sts.example.com.");
    let record = StsRecord::parse(&value);
    assert_eq!(record.verdict(), Verdict::Valid, "{value}");
    assert!(record.id.is_some_and(|id| id.starts_with("20")), "{value}");
}

#[test]
fn mta_sts_policy_defaults_to_testing_and_parses_clean() {
    let output = run(&[
        "record",
        "mta-sts-policy",
        "--mx",
        "MX1.example.com.",
        "--mx",
        "*.backup.example.com",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let policy = StsPolicy::parse(&text);
    assert!(policy.errors.is_empty(), "{:?}", policy.errors);
    assert_eq!(policy.mode, Some(StsMode::Testing));
    assert_eq!(policy.mx, ["*.backup.example.com", "mx1.example.com"]);
    assert!(
        text.split_inclusive('\n')
            .all(|line| line.ends_with("\r\n")),
        "CRLF lines"
    );
}

#[test]
fn a_bad_rua_is_refused_with_the_fix() {
    let output = run(&[
        "record",
        "tlsrpt",
        "example.com",
        "--rua",
        "mailto:tlsrpt@example.com!10m",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty());
    let error = stderr(&output);
    assert!(
        error.contains("size-suffix") && error.contains("remove \"!10m\""),
        "{error}"
    );
}
