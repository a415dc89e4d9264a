//! A report as one particular sender puts it on the wire: bytes and §5.1 file name.
//!
//! `tlsrpt_core::report::to_rfc_json` writes one canonical form. Real senders differ in
//! layout (compact or indented, RFC or alphabetical key order) and in what they leave out
//! (empty arrays, `mx-host`), and Microsoft packs TLSA records into one JSON string
//! (SPEC §2.6). The parser has to cope with all of that, and a benchmark corpus should make it,
//! so this module renders in the reporter's own [`WireStyle`].

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use tlsrpt_core::{FailureDetail, IpValue, PolicyResult, PolicyType, Report};

use crate::report::end_as_sent;
use crate::world::{Reporter, WireStyle};

/// The report's JSON as `style` writes it.
pub fn render(report: &Report, style: &WireStyle) -> Vec<u8> {
    let tree = Node::report(report, style);
    let mut out = Vec::with_capacity(1024);
    let written = match style.indent {
        None => serde_json::to_writer(&mut out, &tree),
        Some(indent) => {
            let formatter = serde_json::ser::PrettyFormatter::with_indent(indent);
            tree.serialize(&mut serde_json::Serializer::with_formatter(
                &mut out, formatter,
            ))
        }
    };
    written.expect("strings and integers always serialise");
    out
}

/// gzip (RFC 1952) with a zero mtime, so the same report always gives the same bytes.
pub fn gzip(json: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(json.len() / 3), Compression::default());
    encoder
        .write_all(json)
        .expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

/// `sender!policy-domain!begin!end!unique-id.json[.gz]` (RFC 8460 §5.1), with the end as the
/// reporter writes it in the JSON.
pub fn file_name(report: &Report, reporter: &Reporter, domain: &str, gzipped: bool) -> String {
    let range = &report.date_range;
    format!(
        "{}!{domain}!{}!{}!{}.json{}",
        reporter.submitter,
        range.start.timestamp(),
        end_as_sent(reporter.day_end, range.end).timestamp(),
        reporter.file_id,
        if gzipped { ".gz" } else { "" },
    )
}

/// A JSON value borrowing from the report, so that key order and omissions are decided in one
/// place per object and serde_json does the formatting and escaping.
enum Node<'a> {
    Null,
    Str(&'a str),
    Owned(String),
    Ip(&'a IpValue),
    Num(u64),
    Arr(Vec<Node<'a>>),
    Obj(Vec<(&'static str, Node<'a>)>),
}

impl<'a> Node<'a> {
    fn report(report: &'a Report, style: &WireStyle) -> Node<'a> {
        let range = &report.date_range;
        obj(
            style,
            [
                (
                    "organization-name",
                    report.organization_name.as_deref().map(Node::Str),
                ),
                (
                    "date-range",
                    Some(obj(
                        style,
                        [
                            ("start-datetime", Some(Node::Str(&range.start_raw))),
                            ("end-datetime", Some(Node::Str(&range.end_raw))),
                        ],
                    )),
                ),
                (
                    "contact-info",
                    Some(report.contact_info.as_deref().map_or(Node::Null, Node::Str)),
                ),
                ("report-id", report.report_id.as_deref().map(Node::Str)),
                (
                    "policies",
                    Some(Node::Arr(
                        report
                            .policies
                            .iter()
                            .map(|p| Node::policy(p, style))
                            .collect(),
                    )),
                ),
            ],
        )
    }

    fn policy(entry: &'a PolicyResult, style: &WireStyle) -> Node<'a> {
        let policy = &entry.policy;
        let policy_string = if style.tlsa_as_json_string && policy.policy_type == PolicyType::Tlsa {
            let packed = serde_json::to_string(&policy.policy_string)
                .expect("a list of strings always serialises");
            Some(Node::Arr(vec![Node::Owned(packed)]))
        } else {
            strings(&policy.policy_string, style)
        };
        let summary = &entry.summary;
        obj(
            style,
            [
                (
                    "policy",
                    Some(obj(
                        style,
                        [
                            ("policy-type", Some(Node::Str(policy.policy_type.as_str()))),
                            ("policy-string", policy_string),
                            (
                                "policy-domain",
                                policy.policy_domain.as_deref().map(Node::Str),
                            ),
                            ("mx-host", strings(&policy.mx_host, style)),
                        ],
                    )),
                ),
                (
                    "summary",
                    Some(obj(
                        style,
                        [
                            (
                                "total-successful-session-count",
                                Some(Node::Num(summary.total_successful_session_count)),
                            ),
                            (
                                "total-failure-session-count",
                                Some(Node::Num(summary.total_failure_session_count)),
                            ),
                        ],
                    )),
                ),
                (
                    "failure-details",
                    (!(style.omit_empty && entry.failure_details.is_empty())).then(|| {
                        Node::Arr(
                            entry
                                .failure_details
                                .iter()
                                .map(|d| Node::detail(d, style))
                                .collect(),
                        )
                    }),
                ),
            ],
        )
    }

    fn detail(detail: &'a FailureDetail, style: &WireStyle) -> Node<'a> {
        obj(
            style,
            [
                ("result-type", Some(Node::Str(detail.result_type.as_str()))),
                (
                    "sending-mta-ip",
                    detail.sending_mta_ip.as_ref().map(Node::Ip),
                ),
                (
                    "receiving-mx-hostname",
                    detail.receiving_mx_hostname.as_deref().map(Node::Str),
                ),
                (
                    "receiving-mx-helo",
                    detail.receiving_mx_helo.as_deref().map(Node::Str),
                ),
                ("receiving-ip", detail.receiving_ip.as_ref().map(Node::Ip)),
                (
                    "failed-session-count",
                    Some(Node::Num(detail.failed_session_count)),
                ),
                (
                    "additional-information",
                    detail.additional_information.as_deref().map(Node::Str),
                ),
                (
                    "failure-reason-code",
                    detail.failure_reason_code.as_deref().map(Node::Str),
                ),
            ],
        )
    }
}

/// An object from its members in RFC order; `None` members are left out.
fn obj<'a, const N: usize>(
    style: &WireStyle,
    members: [(&'static str, Option<Node<'a>>); N],
) -> Node<'a> {
    let mut members: Vec<_> = members
        .into_iter()
        .filter_map(|(key, value)| Some((key, value?)))
        .collect();
    if style.sorted_keys {
        members.sort_by_key(|(key, _)| *key);
    }
    Node::Obj(members)
}

/// A string array, or nothing when it is empty and the sender leaves empty arrays out.
fn strings<'a>(values: &'a [String], style: &WireStyle) -> Option<Node<'a>> {
    (!(style.omit_empty && values.is_empty()))
        .then(|| Node::Arr(values.iter().map(|v| Node::Str(v)).collect()))
}

impl Serialize for Node<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => s.serialize_unit(),
            Node::Str(text) => s.serialize_str(text),
            Node::Owned(text) => s.serialize_str(text),
            Node::Ip(ip) => s.collect_str(ip),
            Node::Num(n) => s.serialize_u64(*n),
            Node::Arr(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Obj(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for (key, value) in members {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}
