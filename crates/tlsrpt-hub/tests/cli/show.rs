use std::io::Write;
use std::process::Stdio;

use crate::{corpus, gzip, hub, run, stderr, stdout};

#[test]
fn explains_failures_with_cause_and_action() {
    let path = corpus("rfc8460-appendix-b.json");
    let output = run(&["show", path.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for expected in [
        "TLS report from Company-X",
        "2016-04-01 (one UTC day",
        "5326 successful, 303 failed (94.6 % success)",
        "mode            testing",
        "✗ starttls-not-supported: 200 failed sessions",
        "✗ certificate-expired: 100 failed sessions",
        "MX hosts       mx1.mail.company-y.example (100)",
        "sending IPs    2001:db8:abcd:12::1 (100)",
        "Renew the MX certificate",
        "Enable STARTTLS on that MX host",
        "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED (3)",
        "(string-for-array)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains('\x1b'), "colours must only go to a terminal");
    let starttls = text.find("starttls-not-supported: 200").unwrap();
    let expired = text.find("certificate-expired: 100").unwrap();
    assert!(starttls < expired, "largest failure group comes first");
}

#[test]
fn explains_tlsa_records_from_microsofts_json_in_string() {
    let path = corpus("microsoft-2025-sts-and-tlsa.json");
    let output = run(&["show", path.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains(
        "TLSA            3 1 1 6007EEE553E85D8DF007A845D19EC343283D4E416E9A33F9EF3040C8B7C285BC (DANE-EE, SPKI, SHA2-256)"
    ), "{text}");
    assert!(text.contains("(json-in-string)"), "{text}");
}

#[test]
fn json_format_prints_the_normalised_model() {
    let eml = corpus("microsoft-2023-no-timezone.eml");
    let json = corpus("stalwart-2026-null-contact.json");
    let output = run(&[
        "show",
        "--format",
        "json",
        eml.to_str().unwrap(),
        json.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let entries: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let microsoft = &entries[0];
    assert_eq!(microsoft["source"], eml.to_str().unwrap());
    assert_eq!(
        microsoft["message"]["tls-report-submitter"],
        "microsoft.com"
    );
    assert_eq!(
        microsoft["report"]["date-range"]["start"],
        "2023-01-10T00:00:00Z"
    );
    let codes: Vec<&str> = microsoft["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"date-without-offset"), "{codes:?}");
    assert_eq!(
        entries[1]["report"]["contact-info"],
        serde_json::Value::Null
    );
}

#[test]
fn raw_prints_the_json_as_received_from_stdin_gzip() {
    let original = std::fs::read(corpus("mailru-2024-fetch-errors.json")).unwrap();
    let mut child = hub()
        .args(["show", "--raw", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&gzip(&original))
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(output.stdout, [original.as_slice(), b"\n"].concat());
}

#[test]
fn unreadable_inputs_fail_with_one_line_each_and_good_ones_still_show() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, b"\x00\x01 definitely not a report").unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, br#"{"organization-name":"x","date-range":{"start-datetime":"2024-01-01T00:00:00Z","end-datetime":"2024-01-02T00:00:00Z"},"policies":[{"policy":{"policy-type":"sts"}}]}"#).unwrap();
    let good = corpus("google-2022.eml");
    let output = run(&[
        "show",
        junk.to_str().unwrap(),
        bad.to_str().unwrap(),
        good.to_str().unwrap(),
        dir.path().join("missing.json").to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let errors = stderr(&output);
    let lines: Vec<&str> = errors.lines().collect();
    assert_eq!(lines.len(), 3, "{errors}");
    assert!(lines[0].starts_with(&format!("error: {}: not a TLS-RPT report", junk.display())));
    assert!(lines[1].contains("policies[0].summary"), "{}", lines[1]);
    assert!(lines[2].contains("missing.json"), "{}", lines[2]);
    assert!(stdout(&output).contains("TLS report from Google Inc."));
}
