//! MTA-STS policy lines and TLSA records as reports embed them (RFC 8461 §3.2, RFC 6698 §2.2).
//!
//! Pure parsers shared by `show` (explaining a report's `policy-string`) and, later, the DNS
//! and policy-fetch checks: both need the same reading of the same text.

pub mod sts;
pub mod tlsa;

pub use sts::{PolicyError, StsMode, StsPolicy, mx_pattern_matches};
pub use tlsa::{TlsaError, TlsaRecord};
