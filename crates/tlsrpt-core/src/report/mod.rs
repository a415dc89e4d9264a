//! RFC 8460 §4 reports: the normalised model and its lenient parser.

mod date;
mod ip;
mod model;
mod parse;
mod path;
mod raw;
pub mod write;

pub use model::{
    DateRange, FailureDetail, IpValue, Policy, PolicyResult, PolicyType, Report, ResultType,
    Summary, format_utc, serialize_utc,
};
pub use parse::parse_report;
pub use write::to_rfc_json;

use crate::Diagnostic;
use serde::Serialize;
use thiserror::Error;

/// A report and the leniencies applied while reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParsedReport {
    pub report: Report,
    pub diagnostics: Vec<Diagnostic>,
}

/// Why bytes could not be read as a report at all. `path` names the JSON location
/// (`policies[0].summary`), empty for the whole document.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
pub struct ParseError {
    pub kind: ParseErrorKind,
    pub path: String,
    pub message: String,
}

/// Broad classes of unusable input; receivers map them to answers (HTTP 415 vs 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParseErrorKind {
    /// Not JSON at all (or not UTF-8).
    NotJson,
    /// Valid JSON, but nothing like a TLS-RPT report (no `policies`, not an object, ...).
    NotAReport,
    /// Looks like a report but a required part is unusable (bad date, negative count, ...).
    Invalid,
}

impl ParseError {
    pub fn new(kind: ParseErrorKind, path: impl Into<String>, message: impl Into<String>) -> Self {
        ParseError {
            kind,
            path: path.into(),
            message: message.into(),
        }
    }
}

/// The duplicate-detection key of a report (SPEC §6.1): reporter, `report-id`, policy
/// domains and date range, hashed to a fixed-width hex string.
///
/// The reporter is the `contact-info` domain when present, else the organization name:
/// `report-id` alone is only unique per sender (Google's is "date_domain"). A report with no
/// `report-id` falls back to the whole normalised content, so two different id-less reports
/// never collide while a re-send of the same one still does.
pub fn dedup_key(report: &Report) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    let reporter = report
        .contact_domain()
        .or_else(|| report.organization_name.as_deref().map(str::to_lowercase))
        .unwrap_or_default();
    for part in [
        "tlsrpt-dedup-v1",
        &reporter,
        &format_utc(&report.date_range.start),
        &format_utc(&report.date_range.end),
        &report.policy_domains().join(","),
    ] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    match &report.report_id {
        Some(id) => hash.update(id.as_bytes()),
        None => hash.update(serde_json::to_vec(&report.policies).unwrap_or_default()),
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
