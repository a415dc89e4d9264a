//! Containers: find the report JSON inside whatever a sender delivered (SPEC §3.2, §3.3, §6.13).
//!
//! Detection is by content, never by name or label: real senders label gzip as
//! `application/octet-stream`, send `.json` uncompressed, or zip it. Decompression is capped
//! (`Limits::max_decompressed`) so a gzip or zip bomb is rejected, not expanded (§6.3, SPEC §4).

use serde::Serialize;
use thiserror::Error;

use crate::Diagnostic;

/// Resource caps applied while unpacking one submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest decompressed size of any single report, in bytes (default 50 MiB).
    pub max_decompressed: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_decompressed: 50 * 1024 * 1024,
        }
    }
}

/// What the first bytes of an input say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContainerKind {
    Json,
    Gzip,
    Zip,
    /// An RFC 5322 message (multipart/report or single part).
    Message,
    /// An mbox file: many messages, each starting with a `From ` line.
    Mbox,
    Unknown,
}

/// Header fields of a mailed report (§5.3), kept so they can be compared with the JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct MessageMeta {
    pub tls_report_domain: Option<String>,
    pub tls_report_submitter: Option<String>,
    /// `Report-ID:` from the Subject, without `<>` (Microsoft omits them).
    pub subject_report_id: Option<String>,
    pub message_id: Option<String>,
    pub from: Option<String>,
    pub subject: Option<String>,
    /// `Date:` header as sent (unparsed: §5.3.1's own sample has a malformed one).
    pub date: Option<String>,
}

/// One report JSON found in a submission, with where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractedReport {
    /// The decompressed JSON bytes.
    pub json: Vec<u8>,
    /// File name of the MIME part or zip entry, when there was one (§5.1 naming).
    pub file_name: Option<String>,
    /// The containers peeled off, outermost first (e.g. `[Message, Gzip]`).
    pub layers: Vec<ContainerKind>,
    /// Message header fields when the report came in a message.
    pub message: Option<MessageMeta>,
    /// Container-level leniencies (e.g. trailing bytes after a gzip stream).
    pub diagnostics: Vec<Diagnostic>,
}

/// Why a submission held no usable report bytes. `location` names the part
/// (`part 2 "google.com!…json.gz"`, `zip entry "x.json"`), empty for the whole input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}{kind}", if location.is_empty() { String::new() } else { format!("{location}: ") })]
pub struct ExtractError {
    pub kind: ExtractErrorKind,
    pub location: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "detail")]
pub enum ExtractErrorKind {
    #[error("empty input")]
    Empty,
    #[error("decompressed size exceeds the limit of {limit} bytes (possible gzip/zip bomb)")]
    TooLarge { limit: u64 },
    #[error("gzip stream is truncated or corrupt: {0}")]
    BadGzip(String),
    #[error("zip archive is unreadable: {0}")]
    BadZip(String),
    #[error("message could not be parsed as RFC 5322 / MIME")]
    BadMessage,
    #[error("message holds no TLS-RPT report part")]
    NoReportInMessage,
    #[error("zip archive holds no report file")]
    NoReportInZip,
    #[error("not a TLS-RPT report, gzip, zip or e-mail message")]
    UnrecognisedContent,
    #[error("containers nested more than {0} deep")]
    TooDeep(usize),
}
