//! What callers hand to the store and what they get back. Backend-neutral.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tlsrpt_core::extract::MessageMeta;
use tlsrpt_core::{ParsedReport, PolicyType, ResultType};

use crate::{PreparedSubmission, RawBlob, StoreError};

/// Database id of a stored submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SubmissionId(pub i64);

/// Database id of a stored report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ReportId(pub i64);

/// How a submission reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    File,
    Stdin,
    Http,
    Smtp,
    Lmtp,
    Imap,
    Pipe,
}

impl Origin {
    pub const ALL: &'static [Origin] = &[
        Origin::File,
        Origin::Stdin,
        Origin::Http,
        Origin::Smtp,
        Origin::Lmtp,
        Origin::Imap,
        Origin::Pipe,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Origin::File => "file",
            Origin::Stdin => "stdin",
            Origin::Http => "http",
            Origin::Smtp => "smtp",
            Origin::Lmtp => "lmtp",
            Origin::Imap => "imap",
            Origin::Pipe => "pipe",
        }
    }

    pub fn from_wire(text: &str) -> Option<Self> {
        Origin::ALL.iter().copied().find(|o| o.as_str() == text)
    }
}

/// One received input (a file, an HTTP body, a mail) and the reports found in it.
#[derive(Debug, Clone)]
pub struct NewSubmission {
    pub raw: RawBlob,
    pub origin: Origin,
    /// File path, remote address or mailbox.
    pub source_name: Option<String>,
    pub received_at: DateTime<Utc>,
    pub authentication: Authentication,
    /// Stored although a policy domain is not served (`unknown_domains = "quarantine"`).
    pub quarantined: bool,
    /// A submission with no reports, or only duplicates, stores nothing.
    pub reports: Vec<NewReport>,
}

impl NewSubmission {
    /// Converts and checks this submission for [`Store::insert_prepared`](crate::Store::insert_prepared).
    /// CPU only: call it on a parsing thread. The error names the unstorable value, e.g.
    /// `reports[0].policies[1].summary.total-failure-session-count`.
    pub fn prepare(self) -> Result<PreparedSubmission, StoreError> {
        PreparedSubmission::new(self)
    }
}

/// How far the sender of a submission is authenticated (RFC 8460 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthResult {
    /// A valid DKIM signature aligned with the report submitter.
    Pass,
    /// Signed, but no signature both verified and aligned.
    Fail,
    /// Mail without a DKIM signature.
    None,
    /// HTTPS has no sender authentication (§3, §7): anyone can POST.
    UnauthenticatedHttps,
    /// Not checked: DKIM is off, or the report came from a file.
    NotChecked,
}

impl AuthResult {
    pub const ALL: &'static [AuthResult] = &[
        AuthResult::Pass,
        AuthResult::Fail,
        AuthResult::None,
        AuthResult::UnauthenticatedHttps,
        AuthResult::NotChecked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthResult::Pass => "pass",
            AuthResult::Fail => "fail",
            AuthResult::None => "none",
            AuthResult::UnauthenticatedHttps => "unauthenticated-https",
            AuthResult::NotChecked => "not-checked",
        }
    }

    pub fn from_wire(text: &str) -> Option<Self> {
        AuthResult::ALL.iter().copied().find(|r| r.as_str() == text)
    }
}

/// The authentication verdict stored with a submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authentication {
    pub result: AuthResult,
    /// Signing domain (DKIM `d=`) of the passing, or else the first failing, signature.
    pub domain: Option<String>,
    /// Why it did not pass, in words.
    pub reason: Option<String>,
}

impl Authentication {
    /// A verdict without signing domain or reason (`none`, `unauthenticated-https`, ...).
    pub fn bare(result: AuthResult) -> Self {
        Authentication {
            result,
            domain: None,
            reason: None,
        }
    }
}

/// One parsed report to store. Cross-checks between message headers and JSON belong in
/// `parsed.diagnostics` (the caller's job); they are stored with the report.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub parsed: ParsedReport,
    /// Header fields when the report came by mail.
    pub message: Option<MessageMeta>,
    /// MIME part or zip entry name (RFC 8460 §5.1).
    pub file_name: Option<String>,
    /// Which parser produced `parsed`, so `reprocess` can find reports an older parser read.
    pub parser_version: String,
}

/// What happened to one report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "outcome")]
pub enum ReportOutcome {
    Stored {
        id: ReportId,
    },
    /// Already stored (earlier, or earlier in the same batch); its duplicate count went up.
    Duplicate {
        existing_id: ReportId,
    },
}

/// What happened to one submission: its id when its raw bytes were stored (at least one
/// report was new), and one outcome per report, in input order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubmissionOutcome {
    pub submission_id: Option<SubmissionId>,
    pub reports: Vec<ReportOutcome>,
}

/// A stored submission with its bytes as received, for `reprocess`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSubmission {
    pub id: SubmissionId,
    pub origin: Origin,
    pub source_name: Option<String>,
    pub received_at: DateTime<Utc>,
    pub raw: Vec<u8>,
}

/// A stored report, read back whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReport {
    pub id: ReportId,
    pub submission_id: SubmissionId,
    pub dedup_key: String,
    pub parsed: ParsedReport,
    pub message: Option<MessageMeta>,
    pub file_name: Option<String>,
    pub parser_version: String,
    /// How many more times this report was received after it was stored.
    pub duplicate_count: u64,
    pub last_duplicate_at: Option<DateTime<Utc>>,
    pub stored_at: DateTime<Utc>,
    /// Its submission's verdict.
    pub authentication: Authentication,
    /// Its submission was quarantined.
    pub quarantined: bool,
}

/// Row counts, for `status` output and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StoreCounts {
    pub submissions: u64,
    pub reports: u64,
    pub policies: u64,
    pub failure_details: u64,
    pub diagnostics: u64,
    /// Sum of all reports' duplicate counts: receipts that stored nothing new.
    pub duplicates_seen: u64,
}

/// Which rollup rows to read. Dashboards pass the days they draw: with a domain, the store
/// looks each day up directly, so a bounded range stays fast however large the table grows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupFilter {
    /// One policy domain (`""` = policies without one); `None` = all.
    pub policy_domain: Option<String>,
    /// First day, inclusive; `None` = from the first stored day.
    pub from: Option<NaiveDate>,
    /// Last day, inclusive; `None` = up to the last stored day.
    pub to: Option<NaiveDate>,
}

/// Sessions per UTC day (of `range_start`) × policy domain × organization × policy type.
/// A missing policy domain or organization is the empty string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DailyPolicyRollup {
    pub day: NaiveDate,
    pub policy_domain: String,
    pub organization: String,
    pub policy_type: PolicyType,
    pub successful: u64,
    pub failed: u64,
    /// Distinct reports contributing to this row.
    pub reports: u64,
}

/// Failed sessions per day × policy domain × organization × policy type × result type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DailyFailureRollup {
    pub day: NaiveDate,
    pub policy_domain: String,
    pub organization: String,
    pub policy_type: PolicyType,
    pub result_type: ResultType,
    pub failed_sessions: u64,
    /// Failure-detail rows contributing to this row.
    pub details: u64,
}

/// One run of the domain checks `serve` makes daily, as the hub serialised it: the store
/// keeps `snapshot` and `findings` as JSON text and does not interpret them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDomainCheck {
    pub domain: String,
    pub checked_at: DateTime<Utc>,
    /// `pass`, `warn` or `fail`: the worst finding.
    pub status: String,
    pub snapshot: String,
    pub findings: String,
    /// What changed since the previous run of this domain.
    pub changes: Vec<CheckChange>,
}

/// A change since the previous run (`kind` such as `sts-policy-id-changed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckChange {
    pub kind: String,
    pub detail: String,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainCheck {
    pub id: i64,
    pub domain: String,
    pub checked_at: DateTime<Utc>,
    pub status: String,
    pub snapshot: String,
    pub findings: String,
    pub changes: Vec<CheckChange>,
}

/// What [`Store::prune`](crate::Store::prune) removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Pruned {
    /// Reports, with their policies, failure details and diagnostics.
    pub reports: u64,
    /// Raw submissions left without any report.
    pub submissions: u64,
}
