//! Analysis of stored TLS-RPT data (RFC 8460), shared by every front end.
//!
//! Pure: the caller reads the rows from the store and passes them in with the window to
//! analyse, so the same numbers reach the dashboard, the JSON API and the CLI, and every rule
//! here can be tested on hand-made rows. Nothing reads a clock: "today" is the window's end.
//!
//! Only this crate computes statistics (ARCHITECTURE: "no page computes its own").

mod alert;
pub mod alerts;
mod domain;
mod overview;
mod readiness;
mod window;

pub use alert::{Alert, AlertEvidence, Digest, DigestDomain, Notice, NoticeKind, Rule, Severity};
pub use domain::{
    Breakdown, DailyPoint, DomainAnalysis, DomainInput, Finding, PolicyVersion, ReporterStatus,
    SilentReporter, Totals, analyze_domain,
};
pub use overview::{DomainOverview, OPEN_FINDING_DAYS, SparkPoint, Status, overview};
pub use readiness::{Evidence, Readiness, Verdict, readiness};
pub use window::{DEFAULT_DAYS, Window};
