//! What `check` concludes, as data: one [`Finding`] per judgement, with the fix. The text
//! and JSON renderings, the exit status and the stored daily results all read these.

use serde::Serialize;

use super::snapshot::Snapshot;

/// How bad a finding is. Ordered, so the worst of a run is its `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    /// Works, but is risky, incomplete or not what its author probably meant.
    Warn,
    /// Senders will ignore the record or policy, or fail to deliver securely.
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// Which check a finding belongs to; kebab-case in JSON and in the store, never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// `_smtp._tls` TXT (RFC 8460 §3).
    TlsrptRecord,
    /// `_mta-sts` TXT (RFC 8461 §3.1).
    StsRecord,
    /// Fetching `https://mta-sts.DOMAIN/.well-known/mta-sts.txt` (RFC 8461 §3.3).
    StsFetch,
    /// The policy file's content (RFC 8461 §3.2).
    StsPolicy,
    /// MX hosts against the policy's `mx` patterns (RFC 8461 §4.1).
    MxSync,
    /// The domain's MX records and their addresses.
    Mx,
    /// DANE TLSA records at `_25._tcp.MX` (RFC 7672 §2.2).
    Tlsa,
    /// STARTTLS on port 25 and the certificate an MX host presents.
    Starttls,
}

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::TlsrptRecord => "tlsrpt-record",
            Check::StsRecord => "sts-record",
            Check::StsFetch => "sts-fetch",
            Check::StsPolicy => "sts-policy",
            Check::MxSync => "mx-sync",
            Check::Mx => "mx",
            Check::Tlsa => "tlsa",
            Check::Starttls => "starttls",
        }
    }
}

/// One judgement. `subject` names what was looked at (a DNS name, a URL, an MX host), so
/// a reader knows where to apply `fix`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub check: Check,
    pub status: Status,
    pub subject: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    pub fn pass(check: Check, subject: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            check,
            status: Status::Pass,
            subject: subject.into(),
            message: message.into(),
            fix: None,
        }
    }

    pub fn warn(
        check: Check,
        subject: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Finding {
            status: Status::Warn,
            fix: Some(fix.into()),
            ..Finding::pass(check, subject, message)
        }
    }

    pub fn fail(
        check: Check,
        subject: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Finding {
            status: Status::Fail,
            ..Finding::warn(check, subject, message, fix)
        }
    }
}

/// Everything found about one domain, and what was seen (for the next run's comparison).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainReport {
    pub domain: String,
    pub status: Status,
    pub findings: Vec<Finding>,
    pub observed: Snapshot,
}

impl DomainReport {
    pub fn new(domain: String, findings: Vec<Finding>, observed: Snapshot) -> Self {
        DomainReport {
            domain,
            status: worst(&findings),
            findings,
            observed,
        }
    }
}

/// The worst status among `findings`; `Pass` when there are none.
pub fn worst(findings: &[Finding]) -> Status {
    findings
        .iter()
        .map(|f| f.status)
        .max()
        .unwrap_or(Status::Pass)
}
