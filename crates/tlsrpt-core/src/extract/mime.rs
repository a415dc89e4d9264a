//! Mailed reports (RFC 8460 §5.3): a `multipart/report; report-type="tlsrpt"` message whose
//! second part is the report, or any message that carries one some other way.
//!
//! Receivers are "presumed" to pick the report part by media type or file name (§5.3); real
//! senders vary the label, so a part qualifies by a loose label test here and the content
//! decides afterwards ([`super::sniff()`]).

use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders};

use super::MessageMeta;
use super::sniff::looks_like_report;

/// Media types that carry a report: the registered ones (§6.4, §6.5) and the generic ones
/// senders and archivers use instead (SPEC §2.6, §6.13). `text/plain` is deliberately absent:
/// it is the human-readable part of every report mail, and qualifies only by a report name.
const REPORT_TYPES: &[(&str, &str)] = &[
    ("application", "tlsrpt+json"),
    ("application", "tlsrpt+gzip"),
    ("application", "json"),
    ("text", "json"),
    ("application", "gzip"),
    ("application", "x-gzip"),
    ("application", "zip"),
    ("application", "x-zip-compressed"),
    ("application", "octet-stream"),
];

/// File name endings of report parts: §5.1's `.json` and `.json.gz` (covered by `.gz`), and
/// `.zip` archives.
const REPORT_EXTENSIONS: &[&str] = &[".json", ".gz", ".zip"];

/// A part that may hold a report.
pub(super) struct ReportPart<'m> {
    /// Position in the message's part list (0 is the message itself).
    index: usize,
    /// `filename` of Content-Disposition, else `name` of Content-Type.
    pub name: Option<&'m str>,
    /// The decoded body (base64 and quoted-printable already undone).
    pub content: &'m [u8],
}

impl ReportPart<'_> {
    /// How errors name the part: `part 2 "google.com!example.net!…!001.json.gz"`, or `body`
    /// for a single-part message.
    pub fn place(&self) -> String {
        let place = match self.index {
            0 => "body".to_owned(),
            index => format!("part {index}"),
        };
        match self.name {
            Some(name) => format!("{place} {name:?}"),
            None => place,
        }
    }
}

/// Parses a message; `None` only when mail-parser finds nothing at all (it is lenient).
pub(super) fn parse(input: &[u8]) -> Option<Message<'_>> {
    MessageParser::default().parse(input)
}

/// The header fields kept for cross-checking with the JSON (§5.3) and for display.
pub(super) fn meta(message: &Message<'_>) -> MessageMeta {
    MessageMeta {
        tls_report_domain: raw_field(message, "TLS-Report-Domain"),
        tls_report_submitter: raw_field(message, "TLS-Report-Submitter"),
        subject_report_id: message.subject().and_then(subject_report_id),
        message_id: message.message_id().map(str::to_owned),
        from: from_address(message),
        subject: message.subject().map(str::to_owned),
        date: raw_field(message, "Date"),
    }
}

/// The parts that may hold a report, in message order.
///
/// A part qualifies by its media type ([`REPORT_TYPES`]) or its file name
/// ([`REPORT_EXTENSIONS`]); a `message/rfc822` part qualifies too, because a report forwarded
/// as an attachment is still a report. In a single-part message the body qualifies whenever
/// its content looks like a report, whatever its label: there is no human-readable part to
/// confuse it with.
///
/// Google 2024 via a Cisco gateway labels the part `application/tlsrpt+gzip; ` with a
/// trailing `;` before a folded `name=` parameter (corpus google-2024-gateway-banner.eml);
/// mail-parser reads type and name correctly, so no workaround is needed beyond the test
/// that pins it. The banner the gateway injected lands in the text part, which is skipped.
pub(super) fn report_parts<'m>(message: &'m Message<'_>) -> Vec<ReportPart<'m>> {
    let single_part = message.parts.len() == 1;
    message
        .parts
        .iter()
        .enumerate()
        .filter(|(_, part)| {
            is_labelled_report(part) || (single_part && looks_like_report(part.contents()))
        })
        .map(|(index, part)| ReportPart {
            index,
            name: part.attachment_name(),
            content: part.contents(),
        })
        .collect()
}

fn is_labelled_report(part: &MessagePart<'_>) -> bool {
    part.is_message()
        || part.content_type().is_some_and(|content_type| {
            let subtype = content_type.subtype().unwrap_or_default();
            REPORT_TYPES.iter().any(|(ctype, csub)| {
                content_type.ctype().eq_ignore_ascii_case(ctype)
                    && subtype.eq_ignore_ascii_case(csub)
            })
        })
        || part.attachment_name().is_some_and(has_report_extension)
}

fn has_report_extension(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    REPORT_EXTENSIONS
        .iter()
        .any(|extension| name.ends_with(extension))
}

/// A header field as sent, unfolded (RFC 5322 §2.2.3: drop the CRLF before folding
/// whitespace) and trimmed; `None` when absent or empty.
fn raw_field(message: &Message<'_>, name: &str) -> Option<String> {
    let unfolded: String = message
        .header_raw(name)?
        .chars()
        .filter(|c| !matches!(c, '\r' | '\n'))
        .collect();
    let value = unfolded.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// The From address (addr-spec only), or the raw field when it does not parse as one.
fn from_address(message: &Message<'_>) -> Option<String> {
    message
        .from()
        .and_then(|from| from.first())
        .and_then(|addr| addr.address())
        .map(str::to_owned)
        .or_else(|| raw_field(message, "From"))
}

/// The id of a §5.3 Subject, `Report Domain: … Submitter: … Report-ID: <id-left@id-right>`,
/// without the `<>`: Microsoft omits them (`Report-ID: 133198585438131172+test.xmox.nl`).
/// mail-parser has already unfolded the Subject (§5.3 allows FWS between the tokens). The
/// literal is matched case-insensitively, though the ABNF makes it case-sensitive: a sender
/// that writes `Report-Id:` still means the same thing.
fn subject_report_id(subject: &str) -> Option<String> {
    const LABEL: &str = "report-id:";
    let start = subject.to_ascii_lowercase().find(LABEL)? + LABEL.len();
    let rest = subject[start..].trim_start();
    let id = match rest.strip_prefix('<') {
        Some(bracketed) => bracketed.split('>').next().unwrap_or_default(),
        None => rest.split_whitespace().next().unwrap_or_default(),
    }
    .trim();
    (!id.is_empty()).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts_of(raw: &str) -> Vec<(String, Vec<u8>)> {
        let message = parse(raw.as_bytes()).unwrap();
        report_parts(&message)
            .into_iter()
            .map(|part| (part.place(), part.content.to_vec()))
            .collect()
    }

    #[test]
    fn report_id_with_and_without_brackets() {
        let google = "Report Domain: test.xmox.nl Submitter: google.com \
                      Report-ID: <2022.09.15T00.00.00Z+test.xmox.nl@google.com>";
        assert_eq!(
            subject_report_id(google).as_deref(),
            Some("2022.09.15T00.00.00Z+test.xmox.nl@google.com")
        );
        let microsoft = "Report Domain: test.xmox.nl Submitter: microsoft.com Report-ID: \
                         133198585438131172+test.xmox.nl";
        assert_eq!(
            subject_report_id(microsoft).as_deref(),
            Some("133198585438131172+test.xmox.nl")
        );
        assert_eq!(
            subject_report_id("report-id:   <a@b> trailing").as_deref(),
            Some("a@b")
        );
        assert_eq!(subject_report_id("Report-ID: <>"), None);
        assert_eq!(subject_report_id("Report-ID:"), None);
        assert_eq!(subject_report_id("TLS report for example.net"), None);
    }

    #[test]
    fn headers_are_unfolded_and_trimmed() {
        let message = parse(
            b"tls-report-domain:  example.net\r\n\t \r\nDate: Fri, 3 Feb\r\n 2023 05:09:22 +0000\r\n\
              From: Reporter <r@example.com>\r\nTLS-Report-Submitter:\r\n\r\nbody",
        )
        .unwrap();
        let meta = meta(&message);
        assert_eq!(meta.tls_report_domain.as_deref(), Some("example.net"));
        assert_eq!(meta.tls_report_submitter, None);
        assert_eq!(meta.date.as_deref(), Some("Fri, 3 Feb 2023 05:09:22 +0000"));
        assert_eq!(meta.from.as_deref(), Some("r@example.com"));
    }

    #[test]
    fn text_part_is_skipped_and_report_types_match_case_insensitively() {
        let raw = "Content-Type: multipart/report; boundary=b\r\n\r\n\
                   --b\r\nContent-Type: text/plain\r\n\r\n{\"looks\":\"like json\"}\r\n\
                   --b\r\nContent-Type: Application/TLSRPT+JSON;\r\n\r\n{}\r\n\
                   --b\r\nContent-Type: image/png\r\n\r\n{}\r\n--b--\r\n";
        assert_eq!(parts_of(raw), [("part 2".to_owned(), b"{}".to_vec())]);
    }

    #[test]
    fn names_qualify_text_parts() {
        let raw = "Content-Type: multipart/mixed; boundary=b\r\n\r\n\
                   --b\r\nContent-Type: text/plain; name=\"r.JSON\"\r\n\r\n{}\r\n\
                   --b\r\nContent-Type: text/plain\r\n\
                   Content-Disposition: attachment; filename=\"a.zip\"\r\n\r\nx\r\n--b--\r\n";
        let places: Vec<String> = parts_of(raw).into_iter().map(|(place, _)| place).collect();
        assert_eq!(places, ["part 1 \"r.JSON\"", "part 2 \"a.zip\""]);
    }

    #[test]
    fn single_part_body_qualifies_by_content() {
        assert_eq!(parts_of("Subject: r\r\n\r\n{}").len(), 1);
        assert_eq!(parts_of("Subject: r\r\n\r\n{}")[0].0, "body");
        assert!(parts_of("Subject: hello\r\n\r\nJust a note.").is_empty());
    }

    #[test]
    fn forwarded_message_qualifies() {
        let raw = "Content-Type: multipart/mixed; boundary=b\r\n\r\n\
                   --b\r\nContent-Type: text/plain\r\n\r\nFYI\r\n\
                   --b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\n{}\r\n--b--\r\n";
        let parts = parts_of(raw);
        assert_eq!(parts.len(), 1);
        assert!(parts[0].1.starts_with(b"Subject: inner"));
    }
}
