//! gzip (RFC 1952), the compression RFC 8460 §5.2 recommends for every report.

use flate2::bufread::GzDecoder;

use super::{Budget, ExtractErrorKind};
use crate::{Diagnostic, DiagnosticCode};

/// Decompresses the first gzip member of `input` under `budget`.
///
/// Only the first member counts: a report is one file, and a second member or padding after
/// it is more likely garbage than a continuation. The bytes after it are reported as a
/// [`DiagnosticCode::TrailingData`] diagnostic rather than silently dropped. The member's
/// header file name (FNAME) is ignored; §6.3 warns that it can carry paths.
pub(super) fn decompress(
    input: &[u8],
    budget: &mut Budget,
) -> Result<(Vec<u8>, Option<Diagnostic>), ExtractErrorKind> {
    let mut decoder = GzDecoder::new(input);
    let content = budget.read(&mut decoder, ExtractErrorKind::BadGzip)?;
    let rest = decoder.into_inner();
    Ok((content, (!rest.is_empty()).then(|| trailing_data(rest))))
}

fn trailing_data(rest: &[u8]) -> Diagnostic {
    let what = if rest.starts_with(&[0x1f, 0x8b]) {
        " (another gzip member; only the first is read)"
    } else {
        ""
    };
    Diagnostic::new(
        DiagnosticCode::TrailingData,
        "",
        format!(
            "{} bytes after the end of the gzip stream were ignored{what}",
            rest.len()
        ),
    )
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn budget(limit: u64) -> Budget {
        Budget { left: limit, limit }
    }

    #[test]
    fn round_trip_without_trailing_data() {
        let (content, trailing) = decompress(&gz(b"{}"), &mut budget(100)).unwrap();
        assert_eq!(content, b"{}");
        assert_eq!(trailing, None);
    }

    #[test]
    fn trailing_bytes_are_a_diagnostic() {
        let mut input = gz(b"{}");
        input.extend_from_slice(b"\0\0\0");
        let (content, trailing) = decompress(&input, &mut budget(100)).unwrap();
        assert_eq!(content, b"{}");
        let trailing = trailing.unwrap();
        assert_eq!(trailing.code, DiagnosticCode::TrailingData);
        assert!(
            trailing.message.starts_with("3 bytes"),
            "{}",
            trailing.message
        );
    }

    #[test]
    fn second_member_is_not_read() {
        let mut input = gz(b"{\"a\":1}");
        input.extend(gz(b"{\"b\":2}"));
        let (content, trailing) = decompress(&input, &mut budget(100)).unwrap();
        assert_eq!(content, b"{\"a\":1}");
        assert!(trailing.unwrap().message.contains("another gzip member"));
    }

    #[test]
    fn truncated_and_corrupt_streams_fail() {
        let input = gz(b"{\"organization-name\":\"x\"}");
        for cut in [3, 12, input.len() - 4, input.len() - 1] {
            let error = decompress(&input[..cut], &mut budget(100)).unwrap_err();
            assert!(
                matches!(error, ExtractErrorKind::BadGzip(_)),
                "cut {cut}: {error}"
            );
        }
        let mut flipped = input.clone();
        let crc = flipped.len() - 8;
        flipped[crc] ^= 0xff;
        let error = decompress(&flipped, &mut budget(100)).unwrap_err();
        assert!(matches!(error, ExtractErrorKind::BadGzip(_)), "{error}");
    }

    #[test]
    fn budget_is_exact_and_spent() {
        let input = gz(&[b' '; 100]);
        let mut exact = budget(100);
        assert_eq!(decompress(&input, &mut exact).unwrap().0.len(), 100);
        assert_eq!(exact.left, 0);
        assert_eq!(
            decompress(&input, &mut budget(99)).unwrap_err(),
            ExtractErrorKind::TooLarge { limit: 99 }
        );
    }
}
