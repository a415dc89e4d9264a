//! Content sniffing: what a byte string is, judged by its first bytes only.
//!
//! Labels lie (SPEC §6.13): Google's gzip arrives as `application/tlsrpt+gzip`, other senders
//! use `application/octet-stream`, `.json` files may be uncompressed, HTTPS bodies may or may
//! not be gzip (§5.4). So every layer is identified here, by magic numbers and syntax.

use super::ContainerKind;

/// gzip member header, RFC 1952 §2.3.1 (ID1 ID2); also the `application/tlsrpt+gzip` magic (§6.5).
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
/// Local file header signature of a zip archive (PKWARE APPNOTE §4.3.7).
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
/// UTF-8 byte order mark; I-JSON forbids it but senders emit it, and the JSON parser notes it.
const UTF8_BOM: &[u8] = &[0xef, 0xbb, 0xbf];
/// The `From_` line that starts every message of an mbox file.
const MBOX_FROM: &[u8] = b"From ";

/// Identifies `input` by content, never by name or label.
///
/// The order matters only where signatures could overlap: `From ` (mbox) is checked before the
/// header-field test, although a space can never be part of a field name anyway.
pub fn sniff(input: &[u8]) -> ContainerKind {
    if input.starts_with(GZIP_MAGIC) {
        ContainerKind::Gzip
    } else if input.starts_with(ZIP_MAGIC) {
        ContainerKind::Zip
    } else if is_json_object(input) {
        ContainerKind::Json
    } else if input.starts_with(MBOX_FROM) {
        ContainerKind::Mbox
    } else if starts_with_header_field(input) {
        ContainerKind::Message
    } else {
        ContainerKind::Unknown
    }
}

/// Whether `input` is a report, or a compressed container that may hold one: what a zip
/// entry or an unlabelled message body must be to be worth peeling. Anything else beside a
/// report (a README, a signature, a text body) is not an error, just not a report.
pub(super) fn looks_like_report(input: &[u8]) -> bool {
    matches!(
        sniff(input),
        ContainerKind::Json | ContainerKind::Gzip | ContainerKind::Zip
    )
}

/// A report is one JSON object (RFC 8460 §4), so `{` after optional BOM and JSON whitespace
/// (RFC 8259 §2) is enough; the parser judges the rest.
fn is_json_object(input: &[u8]) -> bool {
    let body = input.strip_prefix(UTF8_BOM).unwrap_or(input);
    body.iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .is_some_and(|&b| b == b'{')
}

/// RFC 5322 §2.2: `field-name ":"`, where field-name is printable US-ASCII except `:`. A
/// delivered message usually opens with `Return-Path:` or `Received:`, a saved one with any
/// field, so only the shape of the first line is checked.
fn starts_with_header_field(input: &[u8]) -> bool {
    let name_len = input
        .iter()
        .take_while(|&&b| b.is_ascii_graphic() && b != b':')
        .count();
    name_len > 0 && input.get(name_len) == Some(&b':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use ContainerKind::*;

    #[test]
    fn magic_numbers() {
        assert_eq!(sniff(&[0x1f, 0x8b, 0x08, 0]), Gzip);
        assert_eq!(sniff(b"PK\x03\x04rest"), Zip);
        assert_eq!(
            sniff(b"PK\x05\x06"),
            Unknown,
            "an empty archive has no entry to read"
        );
        assert_eq!(sniff(&[0x1f]), Unknown);
    }

    #[test]
    fn json_after_bom_and_whitespace() {
        assert_eq!(sniff(b"{\"a\":1}"), Json);
        assert_eq!(sniff(b" \r\n\t{"), Json);
        assert_eq!(sniff(b"\xef\xbb\xbf{}"), Json);
        assert_eq!(sniff(b"\xef\xbb\xbf \n{}"), Json);
        assert_eq!(
            sniff(b"[{}]"),
            Unknown,
            "a report is an object, not an array"
        );
        assert_eq!(sniff(b"   "), Unknown);
    }

    #[test]
    fn mbox_and_message() {
        assert_eq!(
            sniff(b"From MAILER-DAEMON Fri Jul  8 12:08:34 2011\n"),
            Mbox
        );
        assert_eq!(sniff(b"From: a@example.com\r\n"), Message);
        assert_eq!(sniff(b"Return-Path: <x@y>\r\nReceived: by z\r\n"), Message);
        assert_eq!(sniff(b"X-Mox-Reason: no-bad-signals\n"), Message);
        assert_eq!(sniff(b"Subject:x"), Message);
    }

    #[test]
    fn report_like_content_excludes_messages() {
        assert!(looks_like_report(b" {}"));
        assert!(looks_like_report(&[0x1f, 0x8b]));
        assert!(looks_like_report(b"PK\x03\x04"));
        assert!(!looks_like_report(b"Subject: x\r\n"));
        assert!(!looks_like_report(b"From x\n"));
        assert!(!looks_like_report(b""));
    }

    #[test]
    fn not_a_header_field() {
        assert_eq!(sniff(b""), Unknown);
        assert_eq!(sniff(b": value"), Unknown);
        assert_eq!(sniff(b"Two words: value"), Unknown);
        assert_eq!(sniff(b" Folded: value"), Unknown);
        assert_eq!(sniff(b"NoColonAtAll"), Unknown);
        assert_eq!(sniff(b"\xc3\xa9t\xc3\xa9: value"), Unknown);
    }
}
