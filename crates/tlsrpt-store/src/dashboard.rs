//! Read models for dashboards, the JSON API and exports. Backend-neutral.
//!
//! Each type is the answer to one query shape that the analysis (`tlsrpt-analyze`) or an
//! export needs; none is computed from another here, so every backend answers them in SQL.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tlsrpt_core::{PolicyType, ResultType};

use crate::{AuthResult, Authentication, Origin, ReportId, SubmissionId};

/// Sessions of one policy domain on one day, all reporters and policy types together: the
/// overview's sparkline and totals, without reading a domain's rows one by one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainDay {
    /// `""` for policies without a policy domain.
    pub policy_domain: String,
    pub day: NaiveDate,
    pub successful: u64,
    pub failed: u64,
    pub reports: u64,
}

/// One distinct policy (type, policy-string, mx-host) a reporter saw for a domain within a
/// window, with when and how often: the policy history, the MTA-STS mode, the MX breakdown
/// and the DANE-host classification all come from these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicySeen {
    pub policy_type: PolicyType,
    pub policy_string: Vec<String>,
    pub mx_host: Vec<String>,
    pub organization: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// Policy entries (one per report) contributing.
    pub policies: u64,
    pub successful: u64,
    pub failed: u64,
    /// A DANE report about an MX host rather than a recipient domain (RFC 8460 §4.4 makes
    /// the TLSA base domain, i.e. the MX host, the policy domain): a `tlsa` policy in a
    /// report that also covers another policy domain (the recipient domain, or its other MX
    /// hosts), or whose policy domain a policy of the report lists in `mx-host`. A report
    /// with one lone `tlsa` policy for one MX host cannot be told apart and counts as a
    /// recipient domain.
    pub dane_host: bool,
}

/// Failure details of a domain within a window, grouped by everything a breakdown can ask
/// for (result type, receiving MX, sending IP, reporter, policy type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureGroup {
    pub result_type: ResultType,
    pub policy_type: PolicyType,
    pub organization: String,
    pub receiving_mx_hostname: Option<String>,
    pub sending_mta_ip: Option<String>,
    pub failed_sessions: u64,
    pub details: u64,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

/// When a result type was first and last reported for a domain, over all stored days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureSpan {
    pub result_type: ResultType,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub failed_sessions: u64,
}

/// Which reports to list. Pages run newest first: pass the last id of a page as `before`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportFilter {
    /// Reports with at least one policy for this policy domain.
    pub policy_domain: Option<String>,
    /// Reports from this organization (exact `organization-name`).
    pub organization: Option<String>,
    /// First day of `date-range.start-datetime` (UTC), inclusive.
    pub from: Option<NaiveDate>,
    /// Last day, inclusive.
    pub to: Option<NaiveDate>,
    /// `Some(true)`: only reports counting failed sessions; `Some(false)`: only clean ones.
    pub has_failures: Option<bool>,
    /// `Some(true)`: only reports stored with diagnostics (odd or repaired fields).
    pub has_diagnostics: Option<bool>,
    /// Only reports whose submission got this authentication verdict (RFC 8460 §3: DKIM
    /// for mail, `unauthenticated-https` for HTTPS POSTs).
    pub auth_result: Option<AuthResult>,
    /// `Some(true)`: only quarantined reports (policy domain not served here);
    /// `Some(false)`: only the others.
    pub quarantined: Option<bool>,
    pub before: Option<ReportId>,
    pub limit: u32,
}

/// One line of the report list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportListing {
    pub id: ReportId,
    pub submission_id: SubmissionId,
    pub organization_name: Option<String>,
    pub report_id: Option<String>,
    pub contact_info: Option<String>,
    pub range_start: DateTime<Utc>,
    pub range_end: DateTime<Utc>,
    pub total_successful: u64,
    pub total_failed: u64,
    /// Distinct policy domains, in policy order (missing ones left out).
    pub policy_domains: Vec<String>,
    pub diagnostics: u64,
    pub origin: Origin,
    pub source_name: Option<String>,
    pub received_at: DateTime<Utc>,
    /// Its submission's verdict: a list can show at a glance which reports a forger
    /// could have written (RFC 8460 §3).
    pub authentication: Authentication,
    pub quarantined: bool,
}

/// Which rows to export; pages run in id order from `after`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportFilter {
    pub policy_domain: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Rows with an id (policy id or failure-detail id) greater than this.
    pub after: i64,
    pub limit: u32,
}

/// The report a flattened row belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportContext {
    pub report: ReportId,
    pub organization_name: Option<String>,
    pub report_id: Option<String>,
    pub contact_info: Option<String>,
    pub range_start: DateTime<Utc>,
    pub range_end: DateTime<Utc>,
}

/// The policy a flattened row belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyContext {
    pub policy_index: u64,
    pub policy_type: PolicyType,
    pub policy_domain: Option<String>,
    pub policy_string: Vec<String>,
    pub mx_host: Vec<String>,
    pub successful: u64,
    pub failed: u64,
}

/// One policy, flattened with its report (exports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyRow {
    /// Keyset for the next page.
    pub row_id: i64,
    pub report: ReportContext,
    pub policy: PolicyContext,
}

/// One failure detail, flattened with its report and policy, so the policy domain is never
/// lost (parsedmarc's flattened rows drop it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureRow {
    pub row_id: i64,
    pub report: ReportContext,
    pub policy: PolicyContext,
    pub result_type: ResultType,
    pub sending_mta_ip: Option<String>,
    pub receiving_mx_hostname: Option<String>,
    pub receiving_mx_helo: Option<String>,
    pub receiving_ip: Option<String>,
    pub failed_session_count: u64,
    pub additional_information: Option<String>,
    pub failure_reason_code: Option<String>,
}

/// Where a stored report came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provenance {
    pub submission_id: SubmissionId,
    pub origin: Origin,
    pub source_name: Option<String>,
    pub received_at: DateTime<Utc>,
}
