//! The DNS discovery records a domain publishes: TLSRPT at `_smtp._tls` (RFC 8460 §3) and
//! MTA-STS at `_mta-sts` (RFC 8461 §3.1), read strictly, and generators for them and for
//! the MTA-STS policy file (RFC 8461 §3.2).
//!
//! Pure, like the rest of this crate: `check` resolves the names and passes the TXT RRs in,
//! `record` passes ids and times in. Results are data, not `Result`s: a record is parsed
//! as far as it goes and every problem is listed, each with a stable [`ProblemCode`], the
//! byte column, and how to fix it, so one `check` run shows everything to correct.

mod fields;
pub mod generate;
pub mod mta_sts;
mod problem;
pub mod rua;
mod select;
pub mod tlsrpt;

pub use fields::Extension;
pub use mta_sts::StsRecord;
pub use problem::{ProblemCode, RecordProblem, Severity, Verdict};
pub use rua::{RuaTarget, RuaUri};
pub use select::{Lookup, NoRecordReason, Outcome, TxtRecord};
pub use tlsrpt::TlsrptRecord;
