//! Turning model values into storable row values, before any database work.
//!
//! Everything that can reject an input (a u64 count above i64::MAX) happens here, so a
//! rejected submission never opens a transaction, and the writer holds its lock only for SQL.
//! Both backends store counts as signed 64-bit integers: values beyond i64::MAX
//! (9.2 × 10^18, far past any real session count and past the 2^53 that I-JSON promises to
//! carry exactly) are refused with an error naming the field rather than clamped.

use chrono::{DateTime, NaiveDate, Utc};
use tlsrpt_core::extract::MessageMeta;
use tlsrpt_core::report::dedup_key;
use tlsrpt_core::{Diagnostic, FailureDetail, IpValue, PolicyResult};

use crate::{Authentication, NewReport, NewSubmission, Origin, RawBlob, StoreError};

/// A submission converted and checked for storage ([`NewSubmission::prepare`]).
///
/// Converting (dedup-key hashing, JSON encoding, checking that every count fits) needs no
/// database, so a pipeline runs it on its parsing threads and the single writer only writes:
/// inside `insert_batch` it took about a tenth of the writer's time. An unstorable value is
/// also found there, per submission, before anything is batched.
#[derive(Debug)]
pub struct PreparedSubmission {
    pub(crate) raw: RawBlob,
    pub(crate) raw_size: i64,
    pub(crate) origin: Origin,
    pub(crate) source_name: Option<String>,
    pub(crate) received_at_us: i64,
    pub(crate) authentication: Authentication,
    pub(crate) quarantined: bool,
    pub(crate) reports: Vec<PreparedReport>,
}

#[derive(Debug)]
pub(crate) struct PreparedReport {
    pub dedup_key: String,
    pub organization_name: Option<String>,
    pub contact_info: Option<String>,
    pub report_id: Option<String>,
    pub range_start_us: i64,
    pub range_end_us: i64,
    pub range_day: String,
    pub start_raw: String,
    pub end_raw: String,
    pub message: Option<MessageMeta>,
    pub file_name: Option<String>,
    pub total_successful: i64,
    pub total_failed: i64,
    pub parser_version: String,
    pub policies: Vec<PreparedPolicy>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug)]
pub(crate) struct PreparedPolicy {
    pub policy_type: String,
    pub policy_domain: Option<String>,
    pub policy_string: String,
    pub mx_host: String,
    pub successful: i64,
    pub failed: i64,
    pub details: Vec<PreparedDetail>,
}

#[derive(Debug)]
pub(crate) struct PreparedDetail {
    pub result_type: String,
    pub sending_mta_ip: Option<String>,
    pub receiving_mx_hostname: Option<String>,
    pub receiving_mx_helo: Option<String>,
    pub receiving_ip: Option<String>,
    pub failed_session_count: i64,
    pub additional_information: Option<String>,
    pub failure_reason_code: Option<String>,
}

/// Microseconds since the Unix epoch: the storage unit of every instant.
pub(crate) fn to_us(at: &DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub(crate) fn from_us(us: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| StoreError::corrupt(format!("timestamp {us} µs is out of range")))
}

/// The rollup day of an instant: its UTC calendar date, as stored ('YYYY-MM-DD').
pub(crate) fn day_of(at: &DateTime<Utc>) -> String {
    day_text(&at.date_naive())
}

pub(crate) fn day_text(day: &NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

pub(crate) fn parse_day(text: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| StoreError::corrupt(format!("rollup day {text:?} is not a date")))
}

/// A u64 count as a stored integer, or an error naming the field.
pub(crate) fn count(value: u64, field: impl FnOnce() -> String) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| {
        StoreError::invalid(
            field(),
            format!("{value} exceeds the largest storable count {}", i64::MAX),
        )
    })
}

/// `a + b`, or an error naming the sum.
pub(crate) fn add(a: i64, b: i64, field: &str) -> Result<i64, StoreError> {
    a.checked_add(b).ok_or_else(|| {
        StoreError::invalid(
            field,
            format!("{a} + {b} exceeds the largest storable count"),
        )
    })
}

impl PreparedSubmission {
    pub(crate) fn new(sub: NewSubmission) -> Result<Self, StoreError> {
        Ok(PreparedSubmission {
            received_at_us: to_us(&sub.received_at),
            reports: prepare_reports(sub.reports)?,
            raw_size: count(sub.raw.original_size(), || "raw size".into())?,
            raw: sub.raw,
            origin: sub.origin,
            source_name: sub.source_name,
            authentication: sub.authentication,
            quarantined: sub.quarantined,
        })
    }
}

/// Prepares every report; errors name `reports[i]` (the caller adds outer context).
pub(crate) fn prepare_reports(reports: Vec<NewReport>) -> Result<Vec<PreparedReport>, StoreError> {
    reports
        .into_iter()
        .enumerate()
        .map(|(i, r)| PreparedReport::new(r).map_err(|e| e.within(&format!("reports[{i}]"))))
        .collect()
}

impl PreparedReport {
    fn new(new: NewReport) -> Result<Self, StoreError> {
        let key = dedup_key(&new.parsed.report);
        let report = new.parsed.report;
        let policies = report
            .policies
            .into_iter()
            .enumerate()
            .map(|(i, p)| PreparedPolicy::new(p).map_err(|e| e.within(&format!("policies[{i}]"))))
            .collect::<Result<Vec<_>, _>>()?;
        let mut total_successful = 0;
        let mut total_failed = 0;
        for p in &policies {
            total_successful = add(total_successful, p.successful, "total successful sessions")?;
            total_failed = add(total_failed, p.failed, "total failed sessions")?;
        }
        let range = report.date_range;
        Ok(PreparedReport {
            dedup_key: key,
            organization_name: report.organization_name,
            contact_info: report.contact_info,
            report_id: report.report_id,
            range_start_us: to_us(&range.start),
            range_end_us: to_us(&range.end),
            range_day: day_of(&range.start),
            start_raw: range.start_raw,
            end_raw: range.end_raw,
            message: new.message,
            file_name: new.file_name,
            total_successful,
            total_failed,
            parser_version: new.parser_version,
            policies,
            diagnostics: new.parsed.diagnostics,
        })
    }
}

impl PreparedPolicy {
    fn new(p: PolicyResult) -> Result<Self, StoreError> {
        let details = p
            .failure_details
            .into_iter()
            .enumerate()
            .map(|(i, d)| {
                PreparedDetail::new(d).map_err(|e| e.within(&format!("failure-details[{i}]")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PreparedPolicy {
            policy_type: p.policy.policy_type.as_str().to_owned(),
            policy_domain: p.policy.policy_domain,
            policy_string: json_array(&p.policy.policy_string),
            mx_host: json_array(&p.policy.mx_host),
            successful: count(p.summary.total_successful_session_count, || {
                "summary.total-successful-session-count".into()
            })?,
            failed: count(p.summary.total_failure_session_count, || {
                "summary.total-failure-session-count".into()
            })?,
            details,
        })
    }
}

impl PreparedDetail {
    fn new(d: FailureDetail) -> Result<Self, StoreError> {
        Ok(PreparedDetail {
            result_type: d.result_type.as_str().to_owned(),
            sending_mta_ip: d.sending_mta_ip.as_ref().map(IpValue::to_string),
            receiving_mx_hostname: d.receiving_mx_hostname,
            receiving_mx_helo: d.receiving_mx_helo,
            receiving_ip: d.receiving_ip.as_ref().map(IpValue::to_string),
            failed_session_count: count(d.failed_session_count, || "failed-session-count".into())?,
            additional_information: d.additional_information,
            failure_reason_code: d.failure_reason_code,
        })
    }
}

fn json_array(items: &[String]) -> String {
    serde_json::Value::from(items).to_string()
}
