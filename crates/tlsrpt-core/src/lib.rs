//! Pure core of tlsrpt-hub: the RFC 8460 report model, its lenient parser, container
//! extraction (gzip, zip, MIME, mbox) and plain-English explanations.
//!
//! Nothing in this crate performs IO, reads a clock or resolves DNS: bytes in, data out.
//! That keeps every rule here fuzzable and testable alone (ARCHITECTURE: "parsing is pure").

pub mod diagnostic;
pub mod explain;
pub mod extract;
pub mod policy;
pub mod read;
pub mod record;
pub mod report;

pub use diagnostic::{Diagnostic, DiagnosticCode};
pub use report::{
    DateRange, FailureDetail, IpValue, ParseError, ParseErrorKind, ParsedReport, Policy,
    PolicyResult, PolicyType, Report, ResultType, Summary,
};

/// Identifies the parser that read a stored report, so `reprocess` can tell which stored
/// reports an older parser produced. Bump the `+pN` suffix with every change to parsing.
pub const PARSER_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+p1");
