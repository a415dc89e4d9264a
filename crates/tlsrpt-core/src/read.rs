//! Bytes of one submission to reports: extract (containers) → parse (JSON) → cross-check
//! (message headers vs JSON). The one pure path every ingest front end and `show` share.

use serde::Serialize;
use thiserror::Error;

use crate::extract::{self, ExtractError, Limits, MessageMeta};
use crate::report::{ParseError, ParsedReport, parse_report};

/// A report read from a submission, with where it came from inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ReadReport {
    /// File name of the MIME part or zip entry, when there was one.
    pub file_name: Option<String>,
    /// Message header fields, when the report came by mail.
    pub message: Option<MessageMeta>,
    /// The report; its diagnostics include container and header cross-check findings.
    #[serde(flatten)]
    pub parsed: ParsedReport,
    /// The report JSON exactly as found (after decompression), for `--raw`.
    #[serde(skip)]
    pub json: Vec<u8>,
}

/// One report part that was found but could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}{error}", location(file_name))]
pub struct ReportPartError {
    pub file_name: Option<String>,
    pub error: ParseError,
}

fn location(file_name: &Option<String>) -> String {
    file_name
        .as_ref()
        .map(|name| format!("{name:?}: "))
        .unwrap_or_default()
}

/// Everything found in one submission: each report part read or failed on its own, so one
/// bad attachment never hides a good one.
pub type Reading = Vec<Result<ReadReport, ReportPartError>>;

/// Reads every report in `input`. `Err` only when no report part could be found at all.
pub fn read_reports(input: &[u8], limits: &Limits) -> Result<Reading, ExtractError> {
    let parts = extract::extract(input, limits)?;
    Ok(parts.into_iter().map(read_part).collect())
}

fn read_part(part: extract::ExtractedReport) -> Result<ReadReport, ReportPartError> {
    let mut parsed = parse_report(&part.json).map_err(|error| ReportPartError {
        file_name: part.file_name.clone(),
        error,
    })?;
    let mut diagnostics = part.diagnostics;
    if let Some(meta) = &part.message {
        diagnostics.extend(extract::cross_check(
            meta,
            part.file_name.as_deref(),
            &parsed.report,
        ));
    }
    parsed.diagnostics.extend(diagnostics);
    Ok(ReadReport {
        file_name: part.file_name,
        message: part.message,
        parsed,
        json: part.json,
    })
}
