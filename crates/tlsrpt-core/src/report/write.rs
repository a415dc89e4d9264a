//! The model back to RFC 8460 §4.4 wire JSON, for generators, benchmarks and round-trip tests.
//!
//! The wire form differs from the `--format json` model (serde of [`Report`]): dates are the
//! strings as sent (`start_raw` / `end_raw`), keys the model leaves empty are left out, and
//! nothing normalised away (diagnostics, the exclusive end) appears.

use serde::Serialize;

use super::{FailureDetail, IpValue, Policy, PolicyResult, Report, Summary};

/// Serialises `report` as compact RFC 8460 JSON: kebab-case keys in §4.4 order, `mx-host` and
/// `policy-string` always arrays, `None` fields omitted. Parsing the output gives `report`
/// back (the round-trip property test holds the two together).
pub fn to_rfc_json(report: &Report) -> Vec<u8> {
    serde_json::to_vec(&WireReport::from(report))
        .expect("serialising to memory only fails for non-string map keys, and there are none")
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct WireReport<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    organization_name: Option<&'a str>,
    date_range: WireDateRange<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    contact_info: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report_id: Option<&'a str>,
    policies: Vec<WirePolicyResult<'a>>,
}

#[derive(Serialize)]
struct WireDateRange<'a> {
    #[serde(rename = "start-datetime")]
    start: &'a str,
    #[serde(rename = "end-datetime")]
    end: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct WirePolicyResult<'a> {
    policy: WirePolicy<'a>,
    summary: &'a Summary,
    failure_details: Vec<WireFailureDetail<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct WirePolicy<'a> {
    policy_type: &'a str,
    policy_string: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    policy_domain: Option<&'a str>,
    mx_host: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct WireFailureDetail<'a> {
    /// The model's `Other("")` stands for a detail sent without `result-type`.
    #[serde(skip_serializing_if = "str::is_empty")]
    result_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sending_mta_ip: Option<&'a IpValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    receiving_mx_hostname: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    receiving_mx_helo: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    receiving_ip: Option<&'a IpValue>,
    failed_session_count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    additional_information: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_reason_code: Option<&'a str>,
}

impl<'a> From<&'a Report> for WireReport<'a> {
    fn from(report: &'a Report) -> Self {
        WireReport {
            organization_name: report.organization_name.as_deref(),
            date_range: WireDateRange {
                start: &report.date_range.start_raw,
                end: &report.date_range.end_raw,
            },
            contact_info: report.contact_info.as_deref(),
            report_id: report.report_id.as_deref(),
            policies: report.policies.iter().map(WirePolicyResult::from).collect(),
        }
    }
}

impl<'a> From<&'a PolicyResult> for WirePolicyResult<'a> {
    fn from(entry: &'a PolicyResult) -> Self {
        WirePolicyResult {
            policy: WirePolicy::from(&entry.policy),
            summary: &entry.summary,
            failure_details: entry
                .failure_details
                .iter()
                .map(WireFailureDetail::from)
                .collect(),
        }
    }
}

impl<'a> From<&'a Policy> for WirePolicy<'a> {
    fn from(policy: &'a Policy) -> Self {
        WirePolicy {
            policy_type: policy.policy_type.as_str(),
            policy_string: &policy.policy_string,
            policy_domain: policy.policy_domain.as_deref(),
            mx_host: &policy.mx_host,
        }
    }
}

impl<'a> From<&'a FailureDetail> for WireFailureDetail<'a> {
    fn from(detail: &'a FailureDetail) -> Self {
        WireFailureDetail {
            result_type: detail.result_type.as_str(),
            sending_mta_ip: detail.sending_mta_ip.as_ref(),
            receiving_mx_hostname: detail.receiving_mx_hostname.as_deref(),
            receiving_mx_helo: detail.receiving_mx_helo.as_deref(),
            receiving_ip: detail.receiving_ip.as_ref(),
            failed_session_count: detail.failed_session_count,
            additional_information: detail.additional_information.as_deref(),
            failure_reason_code: detail.failure_reason_code.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::to_rfc_json;
    use crate::report::parse_report;

    /// Compact, in §4.4 key order, canonical values: written back byte for byte.
    const WIRE: &str = concat!(
        r#"{"organization-name":"Org","date-range":{"start-datetime":"2024-01-09T00:00:00Z","#,
        r#""end-datetime":"2024-01-09T23:59:59Z"},"report-id":"r1","policies":[{"policy":"#,
        r#"{"policy-type":"tlsa","policy-string":["3 1 1 AB"],"policy-domain":"mx.example.net","#,
        r#""mx-host":[]},"summary":{"total-successful-session-count":18446744073709551615,"#,
        r#""total-failure-session-count":2},"failure-details":[{"sending-mta-ip":"2001:db8::1","#,
        r#""receiving-ip":"not an address","failed-session-count":2}]}]}"#
    );

    #[test]
    fn writes_the_wire_form_omitting_empty_fields() {
        let parsed = parse_report(WIRE.as_bytes()).expect("valid report");
        assert_eq!(
            String::from_utf8(to_rfc_json(&parsed.report)).expect("UTF-8"),
            WIRE
        );
    }
}
