//! Diagnostics: every leniency the parser applies is recorded, never silent.
//!
//! A diagnostic is data stored with its report (ARCHITECTURE: "diagnostics are data"), so a
//! mail admin can see that Microsoft sent dates without a UTC offset, and a developer can
//! see which sender quirks are still common.

use serde::Serialize;
use std::fmt;

/// One leniency applied while reading a report: a stable code, where, and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: DiagnosticCode,
    /// JSON path in the report, e.g. `policies[0].policy.mx-host`; a header name such as
    /// `TLS-Report-Domain` for message-level checks; empty for the whole input.
    pub path: String,
    pub message: String,
}

impl Diagnostic {
    pub fn new(code: DiagnosticCode, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.code, self.message)
        } else {
            write!(f, "{}: {} ({})", self.path, self.message, self.code)
        }
    }
}

macro_rules! codes {
    ($($(#[$meta:meta])* $variant:ident => $text:literal,)*) => {
        /// Stable diagnostic codes. Stored as text; never renumber, only add.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum DiagnosticCode {
            $($(#[$meta])* $variant,)*
        }

        impl DiagnosticCode {
            pub const ALL: &'static [DiagnosticCode] = &[$(DiagnosticCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(DiagnosticCode::$variant => $text,)*
                }
            }

            pub fn from_wire(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(DiagnosticCode::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

codes! {
    /// A UTF-8 byte order mark preceded the JSON (I-JSON forbids it, RFC 7493 §2.1).
    ByteOrderMark => "byte-order-mark",
    /// A key the RFC does not define; ignored (§3 superset rule applies by analogy).
    UnknownKey => "unknown-key",
    /// A pre-RFC draft key name was accepted as its RFC name (SPEC §2.5).
    DraftAlias => "draft-alias",
    /// A key the RFC defines was missing; a default was used.
    MissingField => "missing-field",
    /// A field was `null`; treated as missing.
    NullField => "null-field",
    /// A single string where the RFC says array (erratum 6241 `mx-host`).
    StringForArray => "string-for-array",
    /// Microsoft's TLSA policy-string: one string holding a JSON-encoded array.
    JsonInString => "json-in-string",
    /// `mx-host` entries that still carry the policy line's `mx: ` prefix (Stalwart).
    MxPrefixInMxHost => "mx-prefix-in-mx-host",
    /// A date-time without a UTC offset (Microsoft, 2023); read as UTC.
    DateWithoutOffset => "date-without-offset",
    /// The end of the date range was given inclusively (`T23:59:59Z`) and was normalised.
    InclusiveEnd => "inclusive-end",
    /// The range is not one UTC day (§4.1 SHOULD).
    NotOneDay => "not-one-day",
    /// A count given as a float or string that held an exact non-negative integer.
    CountCoerced => "count-coerced",
    /// An IP address that did not parse; kept as text.
    UnparsedIp => "unparsed-ip",
    /// An IP address that parsed but was not in canonical form (RFC 5952); re-serialised.
    NonCanonicalIp => "non-canonical-ip",
    /// A domain that was upper-case or had a trailing dot; lower-cased and stripped
    /// (U-labels are kept as sent: converting them needs IDNA tables).
    DomainNormalised => "domain-normalised",
    /// A policy-type or result-type outside the IANA registry, kept verbatim.
    UnknownValue => "unknown-value",
    /// Sum of failed-session-count differs from total-failure-session-count (legal, §4).
    FailureCountMismatch => "failure-count-mismatch",
    /// A message header (TLS-Report-Domain, TLS-Report-Submitter, Subject Report-ID, file
    /// name) disagrees with the JSON; the JSON wins (§5.6).
    HeaderMismatch => "header-mismatch",
    /// Bytes after the end of the gzip stream were ignored.
    TrailingData => "trailing-data",
    /// A duplicate JSON member name (I-JSON forbids it); the first value was kept.
    DuplicateKey => "duplicate-key",
}

impl fmt::Display for DiagnosticCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for DiagnosticCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
