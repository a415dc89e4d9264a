//! Containers: find the report JSON inside whatever a sender delivered (SPEC §3.2, §3.3, §6.13).
//!
//! Detection is by content, never by name or label: real senders label gzip as
//! `application/octet-stream`, send `.json` uncompressed, or zip it. Decompression is capped
//! (`Limits::max_decompressed`) so a gzip or zip bomb is rejected, not expanded (§6.3, SPEC §4).
//!
//! [`extract`] peels layers recursively: every layer is [`sniff`]ed, unpacked by its own
//! submodule (`gzip`, `archive`, `mime`, `mbox`), and what it holds is peeled again until JSON
//! is reached. [`cross_check`] then compares the message headers with the parsed report.

mod archive;
mod crosscheck;
mod gzip;
mod mbox;
mod mime;
mod sniff;

use std::io::Read;

use serde::Serialize;
use thiserror::Error;

use crate::Diagnostic;

pub use crosscheck::cross_check;
pub use mbox::{MboxSplitter, split_mbox};
pub use sniff::sniff;

/// Resource caps applied while unpacking one submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes decompression may produce for one [`extract`] call, all gzip streams and
    /// zip entries together (default 50 MiB). A per-stream cap alone would let a zip of a
    /// thousand small bombs, or an mbox of them, expand a thousandfold; real reports are
    /// kilobytes, so one budget per submission costs nothing legitimate.
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

impl ExtractErrorKind {
    /// Whether this error rejects the whole submission rather than just the part it names.
    ///
    /// A bomb, a truncated stream or a damaged archive is fatal: passing the submission on
    /// with "fewer reports" would hide data loss. A part that merely is not a report (a PDF
    /// labelled `application/octet-stream`, a non-report mail in an mbox) is skipped.
    fn is_fatal(&self) -> bool {
        matches!(
            self,
            ExtractErrorKind::TooLarge { .. }
                | ExtractErrorKind::BadGzip(_)
                | ExtractErrorKind::BadZip(_)
                | ExtractErrorKind::TooDeep(_)
        )
    }
}

/// Containers nested deeper than this are rejected. Four covers the deepest real shape,
/// an mbox of messages carrying a zip of gzip files (or a forwarded report message).
const MAX_DEPTH: usize = 4;

/// Finds every report JSON in `input`, whatever containers it arrived in.
///
/// Mbox input is split with [`split_mbox`] and each message searched; messages without a
/// report are skipped. Callers that want a separate outcome per message (an import reporting
/// which message failed) should split the mbox themselves and call `extract` per message.
pub fn extract(input: &[u8], limits: &Limits) -> Result<Vec<ExtractedReport>, ExtractError> {
    let mut peeler = Peeler {
        budget: Budget {
            left: limits.max_decompressed,
            limit: limits.max_decompressed,
        },
    };
    peeler.peel(input, Origin::default())
}

/// Decompression allowance left for one [`extract`] call (see [`Limits::max_decompressed`]).
struct Budget {
    left: u64,
    limit: u64,
}

impl Budget {
    /// Reads `reader` to the end, spending the budget. Reads at most one byte more than is
    /// left, so a bomb costs `limit + 1` bytes of output and is then dropped; the declared or
    /// claimed size of the stream is never consulted. `bad` wraps IO errors (corrupt data).
    fn read(
        &mut self,
        reader: impl Read,
        bad: fn(String) -> ExtractErrorKind,
    ) -> Result<Vec<u8>, ExtractErrorKind> {
        let mut out = Vec::new();
        reader
            .take(self.left.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|error| bad(error.to_string()))?;
        let used = out.len() as u64;
        if used > self.left {
            return Err(ExtractErrorKind::TooLarge { limit: self.limit });
        }
        self.left -= used;
        Ok(out)
    }
}

/// Where a byte string was found: the containers around it and what they said about it.
#[derive(Debug, Clone, Default)]
struct Origin {
    layers: Vec<ContainerKind>,
    /// Human-readable path for errors, e.g. `part 2 "x.zip" > zip entry "a.json"`.
    location: String,
    file_name: Option<String>,
    message: Option<MessageMeta>,
    diagnostics: Vec<Diagnostic>,
}

impl Origin {
    fn inside(&self, kind: ContainerKind) -> Origin {
        let mut origin = self.clone();
        origin.layers.push(kind);
        origin
    }

    /// A child at `place` (`part 2`, `zip entry "a.json"`), carrying `name` when it has one.
    /// The innermost name wins: a zip entry's name says more about the report than the
    /// name of the archive around it.
    fn child(&self, place: &str, name: Option<&str>) -> Origin {
        let mut origin = self.clone();
        if origin.location.is_empty() {
            origin.location = place.to_owned();
        } else {
            origin.location = format!("{} > {place}", origin.location);
        }
        if let Some(name) = name {
            origin.file_name = Some(name.to_owned());
        }
        origin
    }

    fn error(&self, kind: ExtractErrorKind) -> ExtractError {
        ExtractError {
            kind,
            location: self.location.clone(),
        }
    }

    fn report(self, json: Vec<u8>) -> ExtractedReport {
        ExtractedReport {
            json,
            file_name: self.file_name,
            layers: self.layers,
            message: self.message,
            diagnostics: self.diagnostics,
        }
    }
}

struct Peeler {
    budget: Budget,
}

impl Peeler {
    fn peel(&mut self, input: &[u8], origin: Origin) -> Result<Vec<ExtractedReport>, ExtractError> {
        match sniff(input) {
            ContainerKind::Json => Ok(vec![origin.report(input.to_vec())]),
            ContainerKind::Unknown if input.is_empty() => {
                Err(origin.error(ExtractErrorKind::Empty))
            }
            ContainerKind::Unknown => Err(origin.error(ExtractErrorKind::UnrecognisedContent)),
            _ if origin.layers.len() >= MAX_DEPTH => {
                Err(origin.error(ExtractErrorKind::TooDeep(MAX_DEPTH)))
            }
            kind @ ContainerKind::Gzip => self.peel_gzip(input, origin.inside(kind)),
            kind @ ContainerKind::Zip => self.peel_zip(input, origin.inside(kind)),
            kind @ ContainerKind::Message => self.peel_message(input, origin.inside(kind)),
            kind @ ContainerKind::Mbox => self.peel_mbox(input, origin.inside(kind)),
        }
    }

    fn peel_gzip(
        &mut self,
        input: &[u8],
        mut origin: Origin,
    ) -> Result<Vec<ExtractedReport>, ExtractError> {
        let (content, trailing) =
            gzip::decompress(input, &mut self.budget).map_err(|kind| origin.error(kind))?;
        origin.diagnostics.extend(trailing);
        self.peel(&content, origin)
    }

    /// Only entries whose content is a report, gzip or zip are peeled; a README or a
    /// signature file beside the report is ignored.
    fn peel_zip(
        &mut self,
        input: &[u8],
        origin: Origin,
    ) -> Result<Vec<ExtractedReport>, ExtractError> {
        let entries =
            archive::entries(input, &mut self.budget).map_err(|kind| origin.error(kind))?;
        let none_found = origin.error(ExtractErrorKind::NoReportInZip);
        let children = entries.into_iter().filter_map(|entry| {
            let origin = origin.child(&format!("zip entry {:?}", entry.name), Some(&entry.name));
            match entry.content {
                Err(kind) => Some(Err(origin.error(kind))),
                Ok(content) if sniff::looks_like_report(&content) => {
                    Some(self.peel(&content, origin))
                }
                Ok(_) => None,
            }
        });
        gather(children, none_found)
    }

    /// The innermost message's headers describe the report: an outer message is a forward.
    fn peel_message(
        &mut self,
        input: &[u8],
        mut origin: Origin,
    ) -> Result<Vec<ExtractedReport>, ExtractError> {
        let message =
            mime::parse(input).ok_or_else(|| origin.error(ExtractErrorKind::BadMessage))?;
        origin.message = Some(mime::meta(&message));
        let none_found = origin.error(ExtractErrorKind::NoReportInMessage);
        let children = mime::report_parts(&message)
            .into_iter()
            .map(|part| self.peel(part.content, origin.child(&part.place(), part.name)));
        gather(children, none_found)
    }

    fn peel_mbox(
        &mut self,
        input: &[u8],
        origin: Origin,
    ) -> Result<Vec<ExtractedReport>, ExtractError> {
        let none_found = origin.error(ExtractErrorKind::NoReportInMessage);
        let children = split_mbox(input).enumerate().map(|(index, message)| {
            self.peel(
                &message,
                origin.child(&format!("message {}", index + 1), None),
            )
        });
        gather(children, none_found)
    }
}

/// Collects the reports found in the children of one container.
///
/// A fatal error in any child rejects the whole submission (see
/// [`ExtractErrorKind::is_fatal`]). Children that hold no report are skipped; when none held
/// one, the first child's reason is returned because it names the part, else `none_found`.
fn gather(
    children: impl IntoIterator<Item = Result<Vec<ExtractedReport>, ExtractError>>,
    none_found: ExtractError,
) -> Result<Vec<ExtractedReport>, ExtractError> {
    let mut reports = Vec::new();
    let mut skipped = None;
    for child in children {
        match child {
            Ok(found) => reports.extend(found),
            Err(error) if error.kind.is_fatal() => return Err(error),
            Err(error) => {
                skipped.get_or_insert(error);
            }
        }
    }
    if reports.is_empty() {
        Err(skipped.unwrap_or(none_found))
    } else {
        Ok(reports)
    }
}
