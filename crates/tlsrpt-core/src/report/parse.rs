//! The lenient report parser (RFC 8460 §4): bytes → [`ParsedReport`] or [`ParseError`].
//!
//! Two passes. `raw.rs` reads the JSON into structs that mirror the wire keys, repairing
//! type drift as it goes; this module then normalises those into the [`Report`] model:
//! required parts are checked, domains and IPs canonicalised, vocabulary mapped. Every
//! repair is a [`Diagnostic`](crate::Diagnostic); only input that cannot be read as a report
//! at all is an error (ARCHITECTURE: "diagnostics are data").

use serde_json::error::Category;

use super::path::{Path, Sink};
use super::raw::{self, RawFailureDetail, RawPolicy, RawPolicyResult, RawReport, RawSummary, Slot};
use super::{
    FailureDetail, ParseError, ParseErrorKind, ParsedReport, Policy, PolicyResult, PolicyType,
    Report, ResultType, Summary, date,
};
use crate::DiagnosticCode;

/// Parses one report's JSON bytes leniently (see `docs/report-model.md`).
pub fn parse_report(json: &[u8]) -> Result<ParsedReport, ParseError> {
    let mut sink = Sink::default();
    let json = strip_bom(json, &mut sink);
    let raw = raw::read_report(json, &mut sink).map_err(|error| serde_error(&error, &sink))?;
    let report = report(raw, &mut sink)?;
    Ok(ParsedReport {
        report,
        diagnostics: sink.diagnostics,
    })
}

/// RFC 7493 §2.1 (I-JSON) forbids a byte order mark, but editors and some Windows tooling
/// write one; it carries no meaning, so drop it.
fn strip_bom<'a>(json: &'a [u8], sink: &mut Sink) -> &'a [u8] {
    match json.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => {
            sink.note(
                DiagnosticCode::ByteOrderMark,
                &Path::Root,
                "UTF-8 byte order mark before the JSON; ignored",
            );
            rest
        }
        None => json,
    }
}

/// Classifies a serde_json error; its JSON path was left in the sink by the visitors.
fn serde_error(error: &serde_json::Error, sink: &Sink) -> ParseError {
    match error.classify() {
        Category::Io | Category::Syntax | Category::Eof => ParseError::new(
            ParseErrorKind::NotJson,
            "",
            format!("not valid JSON: {error}"),
        ),
        Category::Data => match sink.error_at.as_deref() {
            // A type error at the root itself: an array, string, number... not an object.
            None | Some("") => ParseError::new(ParseErrorKind::NotAReport, "", error.to_string()),
            Some(path) => ParseError::new(ParseErrorKind::Invalid, path, error.to_string()),
        },
    }
}

impl<T> Slot<T> {
    /// A value the report cannot do without.
    pub(super) fn required(self, path: &Path) -> Result<T, ParseError> {
        let message = match self {
            Slot::Present(value) => return Ok(value),
            Slot::Absent => "required field is missing",
            Slot::Null => "required field is null",
        };
        Err(ParseError::new(
            ParseErrorKind::Invalid,
            path.render(),
            message,
        ))
    }

    /// A value §4.4 defines here; its absence or `null` is noted, followed by `then`
    /// (what the model holds instead).
    fn take(self, sink: &mut Sink, path: &Path, then: &str) -> Option<T> {
        if matches!(self, Slot::Absent) {
            sink.note(
                DiagnosticCode::MissingField,
                path,
                ["missing; ", then].concat(),
            );
        }
        self.take_optional(sink, path, then)
    }

    /// [`take`](Self::take) when §4.4 defines the key in this context (`defined`), else
    /// [`take_optional`](Self::take_optional).
    fn take_if_defined(self, defined: bool, sink: &mut Sink, path: &Path, then: &str) -> Option<T> {
        if defined {
            self.take(sink, path, then)
        } else {
            self.take_optional(sink, path, then)
        }
    }

    /// A value that may be left out (explicitly optional, or undefined in this context):
    /// only `null` is noted.
    fn take_optional(self, sink: &mut Sink, path: &Path, then: &str) -> Option<T> {
        match self {
            Slot::Present(value) => Some(value),
            Slot::Absent => None,
            Slot::Null => {
                sink.note(DiagnosticCode::NullField, path, ["null; ", then].concat());
                None
            }
        }
    }
}

fn report(raw: RawReport, sink: &mut Sink) -> Result<Report, ParseError> {
    if !raw.has_report_keys() {
        return Err(ParseError::new(
            ParseErrorKind::NotAReport,
            "",
            "none of the RFC 8460 report keys (organization-name, date-range, contact-info, \
             report-id, policies) in the top-level object",
        ));
    }
    let root = Path::Root;
    let policies_path = root.key("policies");
    Ok(Report {
        organization_name: raw.organization_name.take(
            sink,
            &root.key("organization-name"),
            "left empty",
        ),
        date_range: date::date_range(raw.date_range, sink)?,
        // Stalwart, 2026 (dmarc-report-viewer testdata no-contact.json): `"contact-info": null`.
        contact_info: raw
            .contact_info
            .take(sink, &root.key("contact-info"), "left empty"),
        report_id: raw
            .report_id
            .take(sink, &root.key("report-id"), "left empty"),
        policies: raw
            .policies
            .required(&policies_path)?
            .into_iter()
            .enumerate()
            .map(|(index, entry)| policy_result(entry, &policies_path.index(index), sink))
            .collect::<Result<_, _>>()?,
    })
}

fn policy_result(
    raw: RawPolicyResult,
    path: &Path,
    sink: &mut Sink,
) -> Result<PolicyResult, ParseError> {
    let policy_path = path.key("policy");
    let summary_path = path.key("summary");
    let details_path = path.key("failure-details");
    let policy = policy(raw.policy.required(&policy_path)?, &policy_path, sink);
    let summary = summary(raw.summary.required(&summary_path)?, &summary_path, sink);
    // Google and Microsoft leave `failure-details` out when there are none (SPEC §2.6).
    let failure_details: Vec<FailureDetail> = raw
        .failure_details
        .take(sink, &details_path, "no failure details")
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(index, detail)| failure_detail(detail, &details_path.index(index), sink))
        .collect();
    check_failure_sum(&summary, &failure_details, &summary_path, sink);
    Ok(PolicyResult {
        policy,
        summary,
        failure_details,
    })
}

fn policy(raw: RawPolicy, path: &Path, sink: &mut Sink) -> Policy {
    let policy_type = vocabulary(
        raw.policy_type,
        &path.key("policy-type"),
        sink,
        PolicyType::from_wire,
        PolicyType::is_known,
    );
    let string_path = path.key("policy-string");
    // §4.5 defines no policy string for no-policy-found; Microsoft omits it for some sts.
    let mut policy_string = raw
        .policy_string
        .take_if_defined(
            policy_type != PolicyType::NoPolicyFound,
            sink,
            &string_path,
            "left empty",
        )
        .unwrap_or_default();
    unpack_json_in_string(&mut policy_string, &string_path, sink);
    let domain_path = path.key("policy-domain");
    // A Postfix-based reporter (tlsrpt-reporter) sends no-policy-found without it.
    let policy_domain = raw
        .policy_domain
        .take(sink, &domain_path, "left empty")
        .map(|name| domain(name, &domain_path, sink));
    let mx_path = path.key("mx-host");
    // `mx-host` is only defined for sts (§4.4); Microsoft omits it even there.
    let mx_host = raw
        .mx_host
        .take_if_defined(policy_type == PolicyType::Sts, sink, &mx_path, "left empty")
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(index, pattern)| mx_pattern(pattern, &mx_path.index(index), sink))
        .collect();
    Policy {
        policy_type,
        policy_string,
        policy_domain,
        mx_host,
    }
}

fn summary(raw: RawSummary, path: &Path, sink: &mut Sink) -> Summary {
    // mail-auth testdata rpt03 (Google-shaped): a summary with only the success count.
    let mut count =
        |slot: Slot<u64>, key: &str| slot.take(sink, &path.key(key), "counted as 0").unwrap_or(0);
    Summary {
        total_successful_session_count: count(
            raw.total_successful,
            "total-successful-session-count",
        ),
        total_failure_session_count: count(raw.total_failure, "total-failure-session-count"),
    }
}

fn failure_detail(raw: RawFailureDetail, path: &Path, sink: &mut Sink) -> FailureDetail {
    // tlsrpt-reporter leaves `result-type` out for failure codes it does not know.
    let result_type = vocabulary(
        raw.result_type,
        &path.key("result-type"),
        sink,
        ResultType::from_wire,
        ResultType::is_known,
    );
    // A failed policy fetch (§4.3.2.2) happens before any SMTP session, so there is no MX
    // host or address to name: Microsoft and Mail.ru send such details with only result-type
    // and count (SPEC §2.6). Elsewhere their absence is noted. RFC 8460 App. B itself omits
    // `receiving-ip` once.
    let session = !session_less(&result_type);
    let hostname_path = path.key("receiving-mx-hostname");
    FailureDetail {
        result_type,
        sending_mta_ip: raw.sending_mta_ip.take_if_defined(
            session,
            sink,
            &path.key("sending-mta-ip"),
            "left empty",
        ),
        receiving_mx_hostname: raw
            .receiving_mx_hostname
            .take_if_defined(session, sink, &hostname_path, "left empty")
            .map(|name| domain(name, &hostname_path, sink)),
        // The HELO name is kept as seen: it may be anything, even an address literal.
        receiving_mx_helo: raw.receiving_mx_helo.take_optional(
            sink,
            &path.key("receiving-mx-helo"),
            "left empty",
        ),
        receiving_ip: raw.receiving_ip.take_if_defined(
            session,
            sink,
            &path.key("receiving-ip"),
            "left empty",
        ),
        failed_session_count: raw
            .failed_session_count
            .take(sink, &path.key("failed-session-count"), "counted as 0")
            .unwrap_or(0),
        additional_information: raw.additional_information.take_optional(
            sink,
            &path.key("additional-information"),
            "left empty",
        ),
        // Only a SHOULD for two result types (§4.3), and App. B omits it twice.
        failure_reason_code: raw.failure_reason_code.take_optional(
            sink,
            &path.key("failure-reason-code"),
            "left empty",
        ),
    }
}

/// Result types of §4.3.2.2 (MTA-STS policy retrieval): no SMTP session took place.
fn session_less(result_type: &ResultType) -> bool {
    matches!(
        result_type,
        ResultType::StsPolicyFetchError
            | ResultType::StsPolicyInvalid
            | ResultType::StsWebpkiInvalid
    )
}

/// Maps a `policy-type` / `result-type` string onto its registry enum (§4.3, §6.6). Unknown
/// values are kept verbatim: the registry is "expected to grow". A missing value becomes
/// `Other("")`.
fn vocabulary<T>(
    raw: Slot<String>,
    path: &Path,
    sink: &mut Sink,
    from_wire: fn(&str) -> T,
    is_known: fn(&T) -> bool,
) -> T {
    let text = raw
        .take(sink, path, "kept as an empty value")
        .unwrap_or_default();
    let value = from_wire(&text);
    if !text.is_empty() && !is_known(&value) {
        sink.note(
            DiagnosticCode::UnknownValue,
            path,
            format!("`{text}` is not in the IANA registry; kept as is"),
        );
    }
    value
}

/// Microsoft, 2025 (dmarc-report-viewer testdata microsoft.json): the tlsa `policy-string` is
/// ONE string holding a JSON-encoded array of TLSA records (`["[\"3 1 1 …\",\"3 1 1 …\"]"]`).
/// §4.5 wants one element per record, so the inner array replaces the outer one.
fn unpack_json_in_string(strings: &mut Vec<String>, path: &Path, sink: &mut Sink) {
    let [only] = strings.as_slice() else { return };
    if !only.trim_start().starts_with('[') {
        return;
    }
    if let Ok(inner) = serde_json::from_str::<Vec<String>>(only) {
        sink.note(
            DiagnosticCode::JsonInString,
            path,
            format!(
                "one string holding a JSON array; unpacked into {} elements",
                inner.len()
            ),
        );
        *strings = inner;
    }
}

/// Stalwart, 2026 (dmarc-report-viewer testdata no-contact.json): `mx-host` entries copied
/// with the policy line's `mx: ` prefix (`"mx: mx.server.com"`). No MX pattern contains `:`.
fn mx_pattern(pattern: String, path: &Path, sink: &mut Sink) -> String {
    let pattern = match pattern.strip_prefix("mx:") {
        Some(rest) => {
            let stripped = rest.trim_start().to_owned();
            sink.note(
                DiagnosticCode::MxPrefixInMxHost,
                path,
                format!("`{pattern}` carries the policy line's `mx:` prefix; read as `{stripped}`"),
            );
            stripped
        }
        None => pattern,
    };
    domain(pattern, path, sink)
}

/// Domains compare case-insensitively (RFC 4343) and a trailing dot only marks the name as
/// absolute, so both are normalised away: `Example.NET.` → `example.net`. U-labels are kept
/// as sent (§4.4 wants A-labels; converting needs IDNA tables this crate does not carry).
fn domain(mut name: String, path: &Path, sink: &mut Sink) -> String {
    let trailing_dot = name.len() > 1 && name.ends_with('.');
    if !trailing_dot && !name.bytes().any(|b| b.is_ascii_uppercase()) {
        return name;
    }
    let sent = name.clone();
    if trailing_dot {
        name.pop();
    }
    name.make_ascii_lowercase();
    sink.note(
        DiagnosticCode::DomainNormalised,
        path,
        format!("`{sent}` read as `{name}`"),
    );
    name
}

/// §4: "the sum of failed-session-count need not equal total-failure-session-count" because
/// one session can fail in several ways. Legal, but worth showing (Mail.ru sends 2 details
/// for 1 failure; tlsrpt-reporter counts sessions and details independently).
fn check_failure_sum(summary: &Summary, details: &[FailureDetail], path: &Path, sink: &mut Sink) {
    let listed: u128 = details
        .iter()
        .map(|detail| u128::from(detail.failed_session_count))
        .sum();
    let total = summary.total_failure_session_count;
    if listed != u128::from(total) {
        sink.note(
            DiagnosticCode::FailureCountMismatch,
            &path.key("total-failure-session-count"),
            format!(
                "failure-details add up to {listed} failed sessions, the summary says {total} \
                 (allowed: one session can fail in several ways, RFC 8460 §4)"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Diagnostic;
    use crate::report::{DateRange, IpValue, format_utc};
    use std::net::Ipv4Addr;

    /// A clean report: one sts policy, one failure detail, nothing to repair.
    const CLEAN: &str = r#"{
        "organization-name": "Org",
        "date-range": {"start-datetime": "2024-01-09T00:00:00Z", "end-datetime": "2024-01-10T00:00:00Z"},
        "contact-info": "tlsrpt@sender.example",
        "report-id": "r1",
        "policies": [{
            "policy": {
                "policy-type": "sts",
                "policy-string": ["version: STSv1", "mode: enforce", "mx: mx.example.net", "max_age: 86400"],
                "policy-domain": "example.net",
                "mx-host": ["mx.example.net"]
            },
            "summary": {"total-successful-session-count": 10, "total-failure-session-count": 1},
            "failure-details": [{
                "result-type": "certificate-expired",
                "sending-mta-ip": "192.0.2.1",
                "receiving-mx-hostname": "mx.example.net",
                "receiving-ip": "198.51.100.7",
                "failed-session-count": 1
            }]
        }]
    }"#;

    const DETAIL: &str = "policies[0].failure-details[0]";

    /// `CLEAN` with `from` (which must occur) replaced by `to`.
    fn patched(from: &str, to: &str) -> String {
        assert!(CLEAN.contains(from), "test bug: {from:?} not in CLEAN");
        CLEAN.replacen(from, to, 1)
    }

    #[track_caller]
    fn parse(json: &str) -> ParsedReport {
        parse_report(json.as_bytes()).unwrap_or_else(|error| panic!("rejected: {error}"))
    }

    /// Asserts a diagnostic with `code` at `path` whose message contains `message`.
    #[track_caller]
    fn assert_diagnostic(parsed: &ParsedReport, code: DiagnosticCode, path: &str, message: &str) {
        let found = parsed
            .diagnostics
            .iter()
            .find(|d| d.code == code && d.path == path)
            .unwrap_or_else(|| panic!("no {code} at {path:?} in {:#?}", parsed.diagnostics));
        assert!(found.message.contains(message), "{found}");
    }

    #[track_caller]
    fn assert_only_diagnostic(
        json: &str,
        code: DiagnosticCode,
        path: &str,
        message: &str,
    ) -> Report {
        let parsed = parse(json);
        assert_diagnostic(&parsed, code, path, message);
        assert_eq!(parsed.diagnostics.len(), 1, "{:#?}", parsed.diagnostics);
        parsed.report
    }

    #[track_caller]
    fn assert_error(json: &[u8], kind: ParseErrorKind, path: &str, message: &str) {
        let error = parse_report(json).expect_err("accepted");
        assert_eq!((error.kind, error.path.as_str()), (kind, path), "{error}");
        assert!(error.message.contains(message), "{error}");
    }

    fn detail(report: &Report) -> &FailureDetail {
        &report.policies[0].failure_details[0]
    }

    #[test]
    fn clean_report_has_no_diagnostics() {
        let parsed = parse(CLEAN);
        assert_eq!(parsed.diagnostics, []);
        let report = parsed.report;
        assert_eq!(report.organization_name.as_deref(), Some("Org"));
        assert_eq!(report.date_range.start_raw, "2024-01-09T00:00:00Z");
        assert_eq!(report.policies[0].policy.policy_type, PolicyType::Sts);
        assert_eq!(
            report.policies[0].summary.total_successful_session_count,
            10
        );
        assert_eq!(
            detail(&report).sending_mta_ip,
            Some(IpValue::Addr(Ipv4Addr::new(192, 0, 2, 1).into()))
        );
        assert_eq!(detail(&report).result_type, ResultType::CertificateExpired);
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        let json = [b"\xEF\xBB\xBF".as_slice(), CLEAN.as_bytes()].concat();
        let parsed = parse_report(&json).expect("accepted");
        assert_diagnostic(
            &parsed,
            DiagnosticCode::ByteOrderMark,
            "",
            "byte order mark",
        );
        assert_eq!(parsed.diagnostics.len(), 1);
    }

    #[test]
    fn mx_host_as_one_string_is_an_array() {
        let json = patched(
            r#""mx-host": ["mx.example.net"]"#,
            r#""mx-host": "mx.example.net""#,
        );
        let report = assert_only_diagnostic(
            &json,
            DiagnosticCode::StringForArray,
            "policies[0].policy.mx-host",
            "single string",
        );
        assert_eq!(report.policies[0].policy.mx_host, ["mx.example.net"]);
    }

    #[test]
    fn microsoft_tlsa_policy_string_is_unpacked() {
        let json = patched(
            r#""policy-string": ["version: STSv1", "mode: enforce", "mx: mx.example.net", "max_age: 86400"]"#,
            r#""policy-string": ["[\"3 1 1 AB\",\"3 1 1 CD\"]"]"#,
        );
        let report = assert_only_diagnostic(
            &json,
            DiagnosticCode::JsonInString,
            "policies[0].policy.policy-string",
            "unpacked into 2 elements",
        );
        assert_eq!(
            report.policies[0].policy.policy_string,
            ["3 1 1 AB", "3 1 1 CD"]
        );
    }

    #[test]
    fn bracket_string_that_is_not_json_is_kept() {
        let json = patched(
            r#"["version: STSv1", "mode: enforce", "mx: mx.example.net", "max_age: 86400"]"#,
            r#"["[not json"]"#,
        );
        let report = parse(&json);
        assert_eq!(report.diagnostics, []);
        assert_eq!(
            report.report.policies[0].policy.policy_string,
            ["[not json"]
        );
    }

    #[test]
    fn stalwart_mx_prefix_is_stripped() {
        let json = patched(r#"["mx.example.net"]"#, r#"["mx: mx.example.net"]"#);
        let report = assert_only_diagnostic(
            &json,
            DiagnosticCode::MxPrefixInMxHost,
            "policies[0].policy.mx-host[0]",
            "read as `mx.example.net`",
        );
        assert_eq!(report.policies[0].policy.mx_host, ["mx.example.net"]);
    }

    #[test]
    fn null_contact_info_is_none() {
        let json = patched(r#""tlsrpt@sender.example""#, "null");
        let report =
            assert_only_diagnostic(&json, DiagnosticCode::NullField, "contact-info", "null");
        assert_eq!(report.contact_info, None);
    }

    #[test]
    fn missing_header_fields_are_none() {
        let json = patched(r#""organization-name": "Org","#, "");
        let report = assert_only_diagnostic(
            &json,
            DiagnosticCode::MissingField,
            "organization-name",
            "missing",
        );
        assert_eq!(report.organization_name, None);
        let json = patched(r#""report-id": "r1","#, "");
        let report =
            assert_only_diagnostic(&json, DiagnosticCode::MissingField, "report-id", "missing");
        assert_eq!(report.report_id, None);
    }

    #[test]
    fn missing_policy_fields_are_empty() {
        let json = patched(
            r#""sts",
                "policy-string": ["version: STSv1", "mode: enforce", "mx: mx.example.net", "max_age: 86400"],
                "policy-domain": "example.net",
                "mx-host": ["mx.example.net"]"#,
            r#""sts""#,
        );
        let parsed = parse(&json);
        assert_eq!(parsed.diagnostics.len(), 3);
        for key in ["policy-string", "policy-domain", "mx-host"] {
            let path = format!("policies[0].policy.{key}");
            assert_diagnostic(&parsed, DiagnosticCode::MissingField, &path, "missing");
        }
        let policy = &parsed.report.policies[0].policy;
        assert!(policy.policy_string.is_empty() && policy.mx_host.is_empty());
        assert_eq!(policy.policy_domain, None);
    }

    #[test]
    fn no_policy_found_needs_no_policy_string_or_mx_host() {
        let json = patched(
            r#""sts",
                "policy-string": ["version: STSv1", "mode: enforce", "mx: mx.example.net", "max_age: 86400"],
                "policy-domain": "example.net",
                "mx-host": ["mx.example.net"]"#,
            r#""no-policy-found", "policy-domain": "example.net""#,
        );
        let parsed = parse(&json);
        assert_eq!(parsed.diagnostics, []);
        let policy = &parsed.report.policies[0].policy;
        assert_eq!(policy.policy_type, PolicyType::NoPolicyFound);
        assert!(policy.policy_string.is_empty() && policy.mx_host.is_empty());
    }

    #[test]
    fn missing_failure_details_are_empty() {
        let json = r#"{
            "organization-name": "Org",
            "date-range": {"start-datetime": "2024-01-09T00:00:00Z", "end-datetime": "2024-01-10T00:00:00Z"},
            "contact-info": "tlsrpt@sender.example",
            "report-id": "r1",
            "policies": [{
                "policy": {"policy-type": "no-policy-found", "policy-domain": "example.net"},
                "summary": {"total-successful-session-count": 3, "total-failure-session-count": 0}
            }]
        }"#;
        let report = assert_only_diagnostic(
            json,
            DiagnosticCode::MissingField,
            "policies[0].failure-details",
            "no failure details",
        );
        assert!(report.policies[0].failure_details.is_empty());
    }

    #[test]
    fn missing_addresses_are_noted_except_for_policy_fetch_failures() {
        let bare = r#""result-type": "certificate-expired", "failed-session-count": 1"#;
        let json = patched(
            r#""result-type": "certificate-expired",
                "sending-mta-ip": "192.0.2.1",
                "receiving-mx-hostname": "mx.example.net",
                "receiving-ip": "198.51.100.7",
                "failed-session-count": 1"#,
            bare,
        );
        let parsed = parse(&json);
        for key in ["sending-mta-ip", "receiving-mx-hostname", "receiving-ip"] {
            let path = format!("{DETAIL}.{key}");
            assert_diagnostic(&parsed, DiagnosticCode::MissingField, &path, "missing");
        }
        assert_eq!(parsed.diagnostics.len(), 3);
        assert_eq!(detail(&parsed.report).sending_mta_ip, None);

        let fetch = json.replacen("certificate-expired", "sts-policy-fetch-error", 1);
        assert_eq!(parse(&fetch).diagnostics, []);
    }

    #[test]
    fn failure_detail_without_result_type_is_kept() {
        let json = patched(r#""result-type": "certificate-expired","#, "");
        let path = format!("{DETAIL}.result-type");
        let report =
            assert_only_diagnostic(&json, DiagnosticCode::MissingField, &path, "empty value");
        assert_eq!(
            detail(&report).result_type,
            ResultType::Other(String::new())
        );
    }

    #[test]
    fn unknown_vocabulary_is_kept() {
        let json = patched(r#""policy-type": "sts""#, r#""policy-type": "sts-v2""#).replacen(
            "certificate-expired",
            "quantum-mismatch",
            1,
        );
        let parsed = parse(&json);
        let policy_type = "policies[0].policy.policy-type";
        assert_diagnostic(
            &parsed,
            DiagnosticCode::UnknownValue,
            policy_type,
            "`sts-v2`",
        );
        let result_type = format!("{DETAIL}.result-type");
        assert_diagnostic(
            &parsed,
            DiagnosticCode::UnknownValue,
            &result_type,
            "registry",
        );
        let report = parsed.report;
        assert_eq!(
            report.policies[0].policy.policy_type,
            PolicyType::Other("sts-v2".into())
        );
        assert_eq!(
            detail(&report).result_type,
            ResultType::Other("quantum-mismatch".into())
        );
    }

    #[test]
    fn missing_counts_are_zero() {
        let json = patched(r#""total-successful-session-count": 10, "#, "").replacen(
            r#""receiving-ip": "198.51.100.7",
                "failed-session-count": 1"#,
            r#""receiving-ip": "198.51.100.7""#,
            1,
        );
        let parsed = parse(&json);
        let successful = "policies[0].summary.total-successful-session-count";
        assert_diagnostic(
            &parsed,
            DiagnosticCode::MissingField,
            successful,
            "counted as 0",
        );
        let failed = format!("{DETAIL}.failed-session-count");
        assert_diagnostic(
            &parsed,
            DiagnosticCode::MissingField,
            &failed,
            "counted as 0",
        );
        let report = parsed.report;
        assert_eq!(report.policies[0].summary.total_successful_session_count, 0);
        assert_eq!(detail(&report).failed_session_count, 0);
    }

    #[test]
    fn domains_are_lower_cased_without_trailing_dot() {
        let json = patched(
            r#""policy-domain": "example.net""#,
            r#""policy-domain": "Example.NET.""#,
        )
        .replacen(r#"["mx.example.net"]"#, r#"["*.MX.example.net."]"#, 1)
        .replacen(
            r#""receiving-mx-hostname": "mx.example.net""#,
            r#""receiving-mx-hostname": "MX.example.net""#,
            1,
        );
        let parsed = parse(&json);
        let code = DiagnosticCode::DomainNormalised;
        assert_diagnostic(
            &parsed,
            code,
            "policies[0].policy.policy-domain",
            "`Example.NET.`",
        );
        assert_diagnostic(
            &parsed,
            code,
            "policies[0].policy.mx-host[0]",
            "`*.mx.example.net`",
        );
        let hostname = format!("{DETAIL}.receiving-mx-hostname");
        assert_diagnostic(&parsed, code, &hostname, "read as `mx.example.net`");
        let policy = &parsed.report.policies[0].policy;
        assert_eq!(policy.policy_domain.as_deref(), Some("example.net"));
        assert_eq!(policy.mx_host, ["*.mx.example.net"]);
        let hostname = detail(&parsed.report).receiving_mx_hostname.as_deref();
        assert_eq!(hostname, Some("mx.example.net"));
    }

    /// Parses `ip` as `sending-mta-ip` and returns the value and its diagnostics.
    fn sending_ip(ip: &str) -> (Option<IpValue>, Vec<Diagnostic>) {
        let json = patched(r#""192.0.2.1""#, &format!("{ip:?}"));
        let parsed = parse(&json);
        (
            detail(&parsed.report).sending_mta_ip.clone(),
            parsed.diagnostics,
        )
    }

    #[test]
    fn ips_are_parsed_and_canonicalised() {
        let addr = |text: &str| Some(IpValue::Addr(text.parse().expect("valid")));
        assert_eq!(sending_ip("2001:db8::1"), (addr("2001:db8::1"), vec![]));
        assert_eq!(
            sending_ip("::ffff:192.0.2.1"),
            (addr("::ffff:192.0.2.1"), vec![])
        );
        for (sent, canonical) in [
            ("2001:db8:abcd:0012::1", "2001:db8:abcd:12::1"),
            ("[::1]", "::1"),
            ("2001:DB8::1", "2001:db8::1"),
            ("2001:db8:0:0:0:0:0:1", "2001:db8::1"),
        ] {
            let (value, diagnostics) = sending_ip(sent);
            assert_eq!(
                value,
                Some(IpValue::Addr(canonical.parse().expect("valid")))
            );
            let [diagnostic] = diagnostics.as_slice() else {
                panic!("{diagnostics:?}")
            };
            assert_eq!(diagnostic.code, DiagnosticCode::NonCanonicalIp);
            assert_eq!(diagnostic.path, format!("{DETAIL}.sending-mta-ip"));
            assert!(
                diagnostic
                    .message
                    .contains(&format!("read as `{canonical}`"))
            );
        }
    }

    #[test]
    fn unparsable_ips_are_kept_as_text() {
        for sent in [
            "192.0.2.300",
            "010.0.0.1",
            "mx.example.net",
            "fe80::1%eth0",
            "",
        ] {
            let (value, diagnostics) = sending_ip(sent);
            assert_eq!(value, Some(IpValue::Unparsed(sent.to_owned())));
            let [diagnostic] = diagnostics.as_slice() else {
                panic!("{diagnostics:?}")
            };
            assert_eq!(diagnostic.code, DiagnosticCode::UnparsedIp);
            assert!(
                diagnostic.message.contains("not an IP address"),
                "{diagnostic}"
            );
        }
    }

    #[test]
    fn failure_count_mismatch_is_informational() {
        let json = patched(
            r#""total-failure-session-count": 1"#,
            r#""total-failure-session-count": 5"#,
        );
        let report = assert_only_diagnostic(
            &json,
            DiagnosticCode::FailureCountMismatch,
            "policies[0].summary.total-failure-session-count",
            "add up to 1 failed sessions, the summary says 5",
        );
        assert_eq!(report.policies[0].summary.total_failure_session_count, 5);
    }

    /// Parses a report with the given dates.
    fn dates(start: &str, end: &str) -> Result<ParsedReport, ParseError> {
        let json = patched(
            r#""start-datetime": "2024-01-09T00:00:00Z", "end-datetime": "2024-01-10T00:00:00Z""#,
            &format!(r#""start-datetime": "{start}", "end-datetime": "{end}""#),
        );
        parse_report(json.as_bytes())
    }

    #[track_caller]
    fn range(start: &str, end: &str) -> (DateRange, Vec<Diagnostic>) {
        let parsed = dates(start, end).unwrap_or_else(|error| panic!("rejected: {error}"));
        (parsed.report.date_range, parsed.diagnostics)
    }

    #[track_caller]
    fn assert_utc(at: &chrono::DateTime<chrono::Utc>, expected: &str) {
        assert_eq!(format_utc(at), expected);
    }

    #[test]
    fn next_day_midnight_end_is_kept() {
        let (range, diagnostics) = range("2024-01-09T00:00:00Z", "2024-01-10T00:00:00Z");
        assert_eq!(diagnostics, []);
        assert_utc(&range.end, "2024-01-10T00:00:00Z");
    }

    #[test]
    fn inclusive_end_becomes_exclusive() {
        for end in [
            "2024-01-09T23:59:59Z",
            "2024-01-09T23:59:59.999Z",
            "2024-01-09t23:59:59.9z",
        ] {
            let (range, diagnostics) = range("2024-01-09T00:00:00Z", end);
            assert_utc(&range.end, "2024-01-10T00:00:00Z");
            assert_eq!(range.end_raw, end);
            let [diagnostic] = diagnostics.as_slice() else {
                panic!("{diagnostics:?}")
            };
            assert_eq!(diagnostic.code, DiagnosticCode::InclusiveEnd);
            assert_eq!(diagnostic.path, "date-range.end-datetime");
            assert!(
                diagnostic
                    .message
                    .contains("exclusive end one second later")
            );
        }
    }

    #[test]
    fn fractional_and_lowercase_dates_parse() {
        let (range, diagnostics) = range("2024-01-09t00:00:00.000z", "2024-01-10T00:00:00.5Z");
        assert_utc(&range.start, "2024-01-09T00:00:00Z");
        assert_utc(&range.end, "2024-01-10T00:00:00.500Z");
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].code, DiagnosticCode::NotOneDay);
    }

    #[test]
    fn microsoft_dates_without_offset_are_utc() {
        let (range, diagnostics) = range("2023-01-10T00:00:00", "2023-01-10T23:59:59");
        assert_utc(&range.start, "2023-01-10T00:00:00Z");
        assert_utc(&range.end, "2023-01-11T00:00:00Z");
        assert_eq!(range.start_raw, "2023-01-10T00:00:00");
        let codes: Vec<_> = diagnostics
            .iter()
            .map(|d| (d.code, d.path.as_str()))
            .collect();
        assert_eq!(
            codes,
            [
                (
                    DiagnosticCode::DateWithoutOffset,
                    "date-range.start-datetime"
                ),
                (DiagnosticCode::DateWithoutOffset, "date-range.end-datetime"),
                (DiagnosticCode::InclusiveEnd, "date-range.end-datetime"),
            ]
        );
        assert!(diagnostics[0].message.contains("read as UTC"));
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let (range, diagnostics) = range("2024-01-09T00:00:00+02:00", "2024-01-09T23:59:59+02:00");
        assert_utc(&range.start, "2024-01-08T22:00:00Z");
        assert_utc(&range.end, "2024-01-09T22:00:00Z");
        let codes: Vec<_> = diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            [DiagnosticCode::InclusiveEnd, DiagnosticCode::NotOneDay]
        );
    }

    #[test]
    fn multi_day_range_is_noted() {
        let (_, diagnostics) = range("2020-01-01T00:00:00Z", "2020-01-07T23:59:59Z");
        let not_one_day = diagnostics
            .iter()
            .find(|d| d.code == DiagnosticCode::NotOneDay);
        let not_one_day = not_one_day.expect("noted");
        assert_eq!(not_one_day.path, "date-range");
        assert!(
            not_one_day
                .message
                .contains("[2020-01-01T00:00:00Z, 2020-01-08T00:00:00Z)")
        );
    }

    #[test]
    fn draft_era_names_are_aliases() {
        let json = patched(
            r#""total-successful-session-count": 10"#,
            r#""success-aggregate": 10"#,
        )
        .replacen(r#""failed-session-count": 1"#, r#""session-count": 1"#, 1)
        .replacen(
            r#""receiving-mx-hostname": "mx.example.net""#,
            r#""receiving-mta-hostname": "mx.example.net", "failure-error-code": "X509_E""#,
            1,
        );
        let parsed = parse(&json);
        let code = DiagnosticCode::DraftAlias;
        let summary = "policies[0].summary.success-aggregate";
        assert_diagnostic(
            &parsed,
            code,
            summary,
            "read as `total-successful-session-count`",
        );
        for (alias, key) in [
            ("session-count", "failed-session-count"),
            ("receiving-mta-hostname", "receiving-mx-hostname"),
            ("failure-error-code", "failure-reason-code"),
        ] {
            let path = format!("{DETAIL}.{alias}");
            assert_diagnostic(&parsed, code, &path, &format!("read as `{key}`"));
        }
        assert_eq!(parsed.diagnostics.len(), 4);
        let report = parsed.report;
        assert_eq!(
            report.policies[0].summary.total_successful_session_count,
            10
        );
        assert_eq!(
            detail(&report).failure_reason_code.as_deref(),
            Some("X509_E")
        );
        assert_eq!(
            detail(&report).receiving_mx_hostname.as_deref(),
            Some("mx.example.net")
        );
    }

    #[test]
    fn unknown_keys_are_skipped() {
        let json = patched(
            r#""report-id": "r1","#,
            r#""report-id": "r1", "x-extra": {"nested": [1, {"deep": null}]},"#,
        )
        .replacen(
            r#""failed-session-count": 1"#,
            r#""failed-session-count": 1, "x-n": 2"#,
            1,
        );
        let parsed = parse(&json);
        assert_diagnostic(&parsed, DiagnosticCode::UnknownKey, "x-extra", "ignored");
        let nested = format!("{DETAIL}.x-n");
        assert_diagnostic(&parsed, DiagnosticCode::UnknownKey, &nested, "ignored");
        assert_eq!(parsed.diagnostics.len(), 2);
    }

    #[test]
    fn duplicate_keys_keep_the_first_value() {
        let json = patched(
            r#""report-id": "r1","#,
            r#""report-id": "r1", "report-id": "r2","#,
        )
        .replacen(
            r#""failed-session-count": 1"#,
            r#""failed-session-count": 1, "session-count": -7"#,
            1,
        );
        let parsed = parse(&json);
        assert_diagnostic(
            &parsed,
            DiagnosticCode::DuplicateKey,
            "report-id",
            "first value",
        );
        let count = format!("{DETAIL}.failed-session-count");
        assert_diagnostic(&parsed, DiagnosticCode::DuplicateKey, &count, "ignored");
        assert_eq!(parsed.report.report_id.as_deref(), Some("r1"));
        assert_eq!(detail(&parsed.report).failed_session_count, 1);
    }

    #[test]
    fn null_values_are_missing() {
        let json = patched(r#""Org""#, "null").replacen(r#""198.51.100.7""#, "null", 1);
        let parsed = parse(&json);
        assert_diagnostic(
            &parsed,
            DiagnosticCode::NullField,
            "organization-name",
            "null",
        );
        let receiving = format!("{DETAIL}.receiving-ip");
        assert_diagnostic(&parsed, DiagnosticCode::NullField, &receiving, "null");
        assert_eq!(
            parsed.diagnostics.len(),
            2,
            "null is not also reported missing"
        );
        assert_eq!(detail(&parsed.report).receiving_ip, None);
    }

    #[test]
    fn exact_counts_in_other_types_are_coerced() {
        for (sent, expected) in [("10.0", 10), ("\"10\"", 10), ("1e3", 1000), ("\"2.0\"", 2)] {
            let json = patched(
                r#""total-successful-session-count": 10"#,
                &format!(r#""total-successful-session-count": {sent}"#),
            );
            let path = "policies[0].summary.total-successful-session-count";
            let report =
                assert_only_diagnostic(&json, DiagnosticCode::CountCoerced, path, "count sent as");
            assert_eq!(
                report.policies[0].summary.total_successful_session_count,
                expected
            );
        }
    }

    #[test]
    fn counts_are_u64() {
        let json = patched(
            r#""total-successful-session-count": 10"#,
            r#""total-successful-session-count": 18446744073709551615"#,
        );
        let report = parse(&json).report;
        assert_eq!(
            report.policies[0].summary.total_successful_session_count,
            u64::MAX
        );
    }

    #[test]
    fn not_json_is_rejected_with_position() {
        let truncated = &CLEAN.as_bytes()[..100];
        assert_error(truncated, ParseErrorKind::NotJson, "", "EOF while parsing");
        assert_error(truncated, ParseErrorKind::NotJson, "", "line 3 column");
        assert_error(b"", ParseErrorKind::NotJson, "", "not valid JSON");
        assert_error(
            b"{\"report-id\": \"\xff\"}",
            ParseErrorKind::NotJson,
            "",
            "line 1",
        );
        let trailing = format!("{CLEAN} x");
        assert_error(
            trailing.as_bytes(),
            ParseErrorKind::NotJson,
            "",
            "trailing characters",
        );
    }

    #[test]
    fn non_objects_are_not_reports() {
        assert_error(
            b"[]",
            ParseErrorKind::NotAReport,
            "",
            "expected a TLS-RPT report object",
        );
        assert_error(
            b"\"text\"",
            ParseErrorKind::NotAReport,
            "",
            "invalid type: string",
        );
        let other = br#"{"feedback": {"report_metadata": {}}}"#;
        assert_error(
            other,
            ParseErrorKind::NotAReport,
            "",
            "none of the RFC 8460 report keys",
        );
    }

    #[test]
    fn policies_must_be_an_array() {
        let json = patched(r#""policies": ["#, r#""policies": 5, "ignored": ["#);
        let json = format!(
            "{}}}",
            json.trim_end().trim_end_matches('}').trim_end_matches(']')
        );
        assert_error(
            json.as_bytes(),
            ParseErrorKind::Invalid,
            "policies",
            "expected an array",
        );
        let json = r#"{"organization-name": "Org", "policies": {}}"#;
        let message = "invalid type: map, expected an array of policy entry objects";
        assert_error(
            json.as_bytes(),
            ParseErrorKind::Invalid,
            "policies",
            message,
        );
    }

    #[test]
    fn policies_are_required_in_a_report() {
        let json = patched(r#""policies": ["#, r#""report-items": ["#);
        assert_error(
            json.as_bytes(),
            ParseErrorKind::Invalid,
            "policies",
            "missing",
        );
        let json = patched(r#""policies": ["#, r#""policies": null, "report-items": ["#);
        let message = "required field is null";
        assert_error(
            json.as_bytes(),
            ParseErrorKind::Invalid,
            "policies",
            message,
        );
    }

    #[test]
    fn policy_entry_needs_policy_and_summary() {
        let json = patched(r#""policy": {"#, r#""policy-x": {"#);
        assert_error(
            json.as_bytes(),
            ParseErrorKind::Invalid,
            "policies[0].policy",
            "missing",
        );
        let json = patched(r#""summary": {"#, r#""summary": null, "x": {"#);
        let path = "policies[0].summary";
        assert_error(
            json.as_bytes(),
            ParseErrorKind::Invalid,
            path,
            "required field is null",
        );
        let json = patched(r#""summary": {"#, r#""summary": "ok", "x": {"#);
        assert_error(
            json.as_bytes(),
            ParseErrorKind::Invalid,
            path,
            "expected a summary object",
        );
    }

    #[test]
    fn date_range_is_required() {
        let json = patched(r#""date-range""#, r#""date-rang""#);
        assert_error(
            json.as_bytes(),
            ParseErrorKind::Invalid,
            "date-range",
            "missing",
        );
        let json = patched(r#""start-datetime""#, r#""start""#);
        let path = "date-range.start-datetime";
        assert_error(json.as_bytes(), ParseErrorKind::Invalid, path, "missing");
    }

    #[test]
    fn unparsable_dates_are_rejected() {
        for bad in [
            "2024-01-09",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2024-01-09T00:00:00+25:00",
        ] {
            let error = dates(bad, "2024-01-10T00:00:00Z").expect_err(bad);
            assert_eq!(error.kind, ParseErrorKind::Invalid);
            assert_eq!(error.path, "date-range.start-datetime");
            assert_eq!(
                error.message,
                format!("`{bad}` is not an RFC 3339 date-time")
            );
        }
    }

    #[test]
    fn end_must_follow_start() {
        let error = dates("2024-01-10T00:00:00Z", "2024-01-09T00:00:00Z").expect_err("reversed");
        assert_eq!(error.path, "date-range.end-datetime");
        assert_eq!(
            error.to_string(),
            "date-range.end-datetime: `2024-01-09T00:00:00Z` is not after start-datetime \
             `2024-01-10T00:00:00Z`"
        );
        let error = dates("2024-01-10T00:00:00Z", "2024-01-10T00:00:00Z").expect_err("empty");
        assert_eq!(error.kind, ParseErrorKind::Invalid);
    }

    #[test]
    fn bad_counts_are_rejected_with_their_path() {
        let summary = "policies[0].summary.total-failure-session-count";
        for (sent, message) in [
            ("-1", "count must not be negative, found -1"),
            ("1.5", "count must be a whole number, found 1.5"),
            ("-2.0", "count must not be negative, found -2"),
            ("1e20", "does not fit in 64 bits"),
            (
                "\"many\"",
                "invalid value: string \"many\", expected a non-negative integer",
            ),
            ("true", "invalid type: boolean `true`"),
        ] {
            let json = patched(
                r#""total-failure-session-count": 1"#,
                &format!(r#""total-failure-session-count": {sent}"#),
            );
            assert_error(json.as_bytes(), ParseErrorKind::Invalid, summary, message);
        }
        let json = patched(
            r#""failed-session-count": 1"#,
            r#""failed-session-count": -3"#,
        );
        let path = format!("{DETAIL}.failed-session-count");
        assert_error(json.as_bytes(), ParseErrorKind::Invalid, &path, "negative");
    }

    #[test]
    fn wrong_types_are_rejected_with_their_path() {
        let json = patched(r#"["mx.example.net"]"#, r#"["mx.example.net", 7]"#);
        let path = "policies[0].policy.mx-host[1]";
        assert_error(
            json.as_bytes(),
            ParseErrorKind::Invalid,
            path,
            "expected a string",
        );
        let json = patched(r#""192.0.2.1""#, "3221225985");
        let path = format!("{DETAIL}.sending-mta-ip");
        assert_error(
            json.as_bytes(),
            ParseErrorKind::Invalid,
            &path,
            "invalid type: integer",
        );
        let json = patched(r#""failure-details": ["#, r#""failure-details": [7, "#);
        let path = "policies[0].failure-details[0]";
        assert_error(
            json.as_bytes(),
            ParseErrorKind::Invalid,
            path,
            "failure-details object",
        );
    }

    #[test]
    fn error_display_names_the_path() {
        let json = patched(
            r#""total-failure-session-count": 1"#,
            r#""total-failure-session-count": -1"#,
        );
        let error = parse_report(json.as_bytes()).expect_err("negative");
        assert!(
            error
                .to_string()
                .starts_with("policies[0].summary.total-failure-session-count: count must not")
        );
    }
}
