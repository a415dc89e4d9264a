//! Problems found in a DNS record, as data: a stable code, the byte column, what is wrong
//! and how to fix it. `check --format json` prints these, so codes are never renamed.

use std::fmt;

use serde::Serialize;
use thiserror::Error;

/// Whether a problem makes the record invalid (an RFC grammar or rule is broken, so a
/// conforming sender ignores the record) or only risky (legal, but some senders misread it,
/// or it does not do what its author probably meant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Error,
    Warning,
}

macro_rules! codes {
    ($($(#[$meta:meta])* $variant:ident => $text:literal, $severity:ident;)*) => {
        /// Stable problem codes, kebab-case on the wire. Never rename, only add.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum ProblemCode {
            $($(#[$meta])* $variant,)*
        }

        impl ProblemCode {
            pub const ALL: &'static [ProblemCode] = &[$(ProblemCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ProblemCode::$variant => $text,)*
                }
            }

            /// Fixed per code, so a code always lands in the same list.
            pub fn severity(self) -> Severity {
                match self {
                    $(ProblemCode::$variant => Severity::$severity,)*
                }
            }
        }
    };
}

codes! {
    /// The record is wrapped in `"`: the zone editor stored the quotes as data.
    QuotedRecord => "quoted-record", Error;
    /// A byte outside printable ASCII, space and tab; no record grammar allows one.
    InvalidCharacter => "invalid-character", Error;
    /// Space before `v=`: the record must begin with the version (RFC 8460 §3, RFC 8461 §3.1).
    LeadingWhitespace => "leading-whitespace", Error;
    /// Space after the last field with no `;` after it; only a delimiter may hold spaces.
    TrailingWhitespace => "trailing-whitespace", Error;
    /// No `v=` field at all.
    MissingVersion => "missing-version", Error;
    /// A `v=` field that is not the first field.
    VersionNotFirst => "version-not-first", Error;
    /// `v=tlsrptv1` or `V=STSv1`: the version is a case-sensitive string (RFC 7405 `%s`).
    VersionCase => "version-case", Error;
    /// A version other than the one this record type defines.
    WrongVersion => "wrong-version", Error;
    /// `v=TLSRPTv1 ;`: the grammar allows it, the selection rule discards it (RFC 8460 §3).
    SpaceAfterVersion => "space-after-version", Error;
    /// The version is followed by a field without `;` between them.
    MissingDelimiter => "missing-delimiter", Error;
    /// `;;`: a delimiter must be followed by a field.
    EmptyField => "empty-field", Error;
    /// A field without `=`.
    InvalidField => "invalid-field", Error;
    /// A field name outside `(ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")`.
    InvalidFieldName => "invalid-field-name", Error;
    /// Space before or after the `=` of a field.
    SpaceAroundEquals => "space-around-equals", Error;
    /// A field with nothing after `=`.
    EmptyValue => "empty-value", Error;
    /// An extension value with a character outside `%x21-3A / %x3C / %x3E-7E`.
    InvalidValue => "invalid-value", Error;
    /// No `rua=` field (RFC 8460 §3: required).
    MissingRua => "missing-rua", Error;
    /// An empty entry in the `rua=` list, as in `a,,b` or a trailing comma.
    EmptyUri => "empty-uri", Error;
    /// Space inside a URI, usually URIs separated by spaces instead of commas.
    SpaceInUri => "space-in-uri", Error;
    /// A URI without a scheme, such as a bare e-mail address.
    MissingScheme => "missing-scheme", Error;
    /// A scheme other than `mailto` and `https` (RFC 8460 §3).
    UnsupportedScheme => "unsupported-scheme", Error;
    /// A DMARC-style `!10m` size limit (RFC 8460 §3 has none; `!` must be encoded).
    SizeSuffix => "size-suffix", Error;
    /// A `!`, `,` or `;` that RFC 8460 §3 requires to be percent-encoded.
    UnencodedCharacter => "unencoded-character", Error;
    /// Not an RFC 3986 URI for another reason.
    InvalidUri => "invalid-uri", Error;
    /// `%` not followed by two hex digits (RFC 3986 §2.1).
    InvalidPercentEncoding => "invalid-percent-encoding", Error;
    /// A `mailto:` address that is not `local@domain` (RFC 6068 §2, RFC 5322 §3.4.1).
    InvalidAddress => "invalid-address", Error;
    /// An `https:` URI without `//` and a host.
    MissingHost => "missing-host", Error;
    /// An `https:` host that is not a DNS name or IP literal.
    InvalidHost => "invalid-host", Error;
    /// No `id=` field (RFC 8461 §3.1: required).
    MissingId => "missing-id", Error;
    /// An `id` outside `1*32(ALPHA / DIGIT)` (RFC 8461 §3.1).
    InvalidId => "invalid-id", Error;
    /// Space before or after a comma in the `rua=` list: legal, but some senders split on
    /// `,` alone and then fail on the next URI.
    SpaceAroundComma => "space-around-comma", Warning;
    /// More than one `rua=` field; their URIs are used together.
    MultipleRua => "multiple-rua", Warning;
    /// The same URI listed twice; reporters may send twice.
    DuplicateUri => "duplicate-uri", Warning;
    /// A field given twice where only one value can count; the first is used.
    DuplicateField => "duplicate-field", Warning;
    /// `mailto:…?subject=…`: reporters build their own message and ignore it.
    MailtoQuery => "mailto-query", Warning;
    /// `MAILTO:` or `HTTPS:`: legal (RFC 3986 §3.1) but some senders compare literally.
    UppercaseScheme => "uppercase-scheme", Warning;
    /// A DMARC tag such as `ruf=` or `p=`: a valid extension here, and ignored.
    DmarcTag => "dmarc-tag", Warning;
    /// A known field name in the wrong case, so it is an unknown extension and ignored.
    FieldNameCase => "field-name-case", Warning;
    /// An extension no RFC defines; senders ignore it (RFC 8460 §3, RFC 8461 §3.1).
    UnknownField => "unknown-field", Warning;
}

impl fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ProblemCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One problem. `column` is the 1-based byte position in the record as published (after
/// joining its character-strings); a missing field points just past the end, where it would
/// go.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[error("column {column}: {message} ({code}); fix: {fix}")]
pub struct RecordProblem {
    pub column: usize,
    pub code: ProblemCode,
    pub message: String,
    pub fix: String,
}

/// Whether a record can be used as published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Valid,
    /// Usable by a conforming sender, with risks listed in the warnings.
    ValidWithWarnings,
    /// A conforming sender treats the name as having no record.
    Invalid,
}

impl Verdict {
    pub(crate) fn of(errors: &[RecordProblem], warnings: &[RecordProblem]) -> Verdict {
        match (errors.is_empty(), warnings.is_empty()) {
            (false, _) => Verdict::Invalid,
            (true, false) => Verdict::ValidWithWarnings,
            (true, true) => Verdict::Valid,
        }
    }
}

/// Collects problems while a record is read, sorted into errors and warnings by code.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    errors: Vec<RecordProblem>,
    warnings: Vec<RecordProblem>,
}

impl Problems {
    pub(crate) fn add(
        &mut self,
        column: usize,
        code: ProblemCode,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let problem = RecordProblem {
            column,
            code,
            message: message.into(),
            fix: fix.into(),
        };
        match code.severity() {
            Severity::Error => self.errors.push(problem),
            Severity::Warning => self.warnings.push(problem),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty() && self.warnings.is_empty()
    }

    /// Errors and warnings, each in column order: detection order differs (a missing
    /// field is only known at the end), and readers scan a record left to right.
    pub(crate) fn finish(mut self) -> (Vec<RecordProblem>, Vec<RecordProblem>) {
        self.errors.sort_by_key(|problem| problem.column);
        self.warnings.sort_by_key(|problem| problem.column);
        (self.errors, self.warnings)
    }

    /// Every problem, errors first: for callers that accept nothing less than clean input.
    pub(crate) fn into_all(self) -> Vec<RecordProblem> {
        let (mut errors, warnings) = self.finish();
        errors.extend(warnings);
        errors
    }
}

/// Bytes for a message, lossily: records are ASCII when valid, and a message must still
/// show what was there when they are not.
pub(crate) fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ProblemCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} twice");
            assert!(
                text.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{text}"
            );
            assert_eq!(serde_json::to_string(code).unwrap(), format!("\"{text}\""));
        }
    }

    #[test]
    fn severity_sorts_and_verdict_follows() {
        let mut problems = Problems::default();
        problems.add(9, ProblemCode::MissingRua, "m", "f");
        problems.add(3, ProblemCode::WrongVersion, "m", "f");
        problems.add(5, ProblemCode::DmarcTag, "m", "f");
        let (errors, warnings) = problems.finish();
        assert_eq!(errors.iter().map(|p| p.column).collect::<Vec<_>>(), [3, 9]);
        assert_eq!(warnings[0].code, ProblemCode::DmarcTag);
        assert_eq!(Verdict::of(&errors, &warnings), Verdict::Invalid);
        assert_eq!(Verdict::of(&[], &warnings), Verdict::ValidWithWarnings);
        assert_eq!(Verdict::of(&[], &[]), Verdict::Valid);
    }
}
