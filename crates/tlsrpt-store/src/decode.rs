//! Turning stored rows back into model values, for every backend.
//!
//! Both backends store the same columns under the same names (see the migrations), so one
//! decoder serves both; [`Columns`] is the little each backend's row type has to offer.

use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use tlsrpt_core::extract::MessageMeta;
use tlsrpt_core::{
    DateRange, Diagnostic, DiagnosticCode, FailureDetail, IpValue, ParsedReport, Policy,
    PolicyResult, PolicyType, Report, ResultType, Summary,
};

use crate::prepare::{from_us, parse_day};
use crate::{
    AuthResult, Authentication, DailyFailureRollup, DailyPolicyRollup, Origin, RawBlob,
    RawEncoding, ReportId, StoreError, StoredReport, StoredSubmission, SubmissionId,
};

/// Typed access to a row's columns by name.
pub(crate) trait Columns {
    fn int(&self, name: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, name: &str) -> Result<Option<i64>, StoreError>;
    fn text(&self, name: &str) -> Result<String, StoreError>;
    fn opt_text(&self, name: &str) -> Result<Option<String>, StoreError>;
    fn flag(&self, name: &str) -> Result<bool, StoreError>;
    fn bytes(&self, name: &str) -> Result<Vec<u8>, StoreError>;
}

macro_rules! columns {
    ($row:ty) => {
        impl Columns for $row {
            fn int(&self, name: &str) -> Result<i64, StoreError> {
                self.try_get(name).map_err(column_error)
            }
            fn opt_int(&self, name: &str) -> Result<Option<i64>, StoreError> {
                self.try_get(name).map_err(column_error)
            }
            fn text(&self, name: &str) -> Result<String, StoreError> {
                self.try_get(name).map_err(column_error)
            }
            fn opt_text(&self, name: &str) -> Result<Option<String>, StoreError> {
                self.try_get(name).map_err(column_error)
            }
            fn flag(&self, name: &str) -> Result<bool, StoreError> {
                self.try_get(name).map_err(column_error)
            }
            fn bytes(&self, name: &str) -> Result<Vec<u8>, StoreError> {
                self.try_get(name).map_err(column_error)
            }
        }
    };
}

columns!(SqliteRow);
columns!(PgRow);

/// A column that is missing or of the wrong type means the schema is not what this version
/// wrote.
fn column_error(error: sqlx::Error) -> StoreError {
    StoreError::corrupt(error.to_string())
}

/// A submission row (without decompressing its bytes, which is CPU work for the caller).
pub(crate) fn submission(row: &impl Columns) -> Result<(StoredSubmission, RawBlob), StoreError> {
    let id = row.int("id")?;
    let origin = row.text("origin")?;
    let encoding = row.text("raw_encoding")?;
    let blob = RawBlob::from_stored(
        row.bytes("raw")?,
        RawEncoding::from_wire(&encoding).ok_or_else(|| {
            StoreError::corrupt(format!("submission {id}: raw encoding {encoding:?}"))
        })?,
        unsigned(row.int("raw_size")?)?,
        row.bytes("raw_sha256")?.try_into().map_err(|_| {
            StoreError::corrupt(format!("submission {id}: SHA-256 is not 32 bytes"))
        })?,
    );
    let sub = StoredSubmission {
        id: SubmissionId(id),
        origin: Origin::from_wire(&origin)
            .ok_or_else(|| StoreError::corrupt(format!("submission {id}: origin {origin:?}")))?,
        source_name: row.opt_text("source_name")?,
        received_at: from_us(row.int("received_at_us")?)?,
        raw: Vec::new(),
    };
    Ok((sub, blob))
}

/// Decompresses and verifies a page of submissions, off the async workers.
pub(crate) async fn decompress(
    page: Vec<(StoredSubmission, RawBlob)>,
) -> Result<Vec<StoredSubmission>, StoreError> {
    tokio::task::spawn_blocking(move || {
        page.into_iter()
            .map(|(mut sub, blob)| {
                sub.raw = blob
                    .decompress()
                    .map_err(|e| StoreError::corrupt(format!("submission {}: {e}", sub.id.0)))?;
                Ok(sub)
            })
            .collect()
    })
    .await
    .map_err(|e| StoreError::Internal(e.into()))?
}

/// A whole report from its row (joined with its submission's authentication columns), its
/// policies (in `policy_index` order), their failure details
/// (in id order) and its diagnostics (in id order).
pub(crate) fn report(
    row: &impl Columns,
    policies: &[impl Columns],
    details: &[impl Columns],
    diagnostics: &[impl Columns],
) -> Result<StoredReport, StoreError> {
    let id = row.int("id")?;
    let policies = policies
        .iter()
        .map(|p| {
            let policy_id = p.int("id")?;
            let mut failure_details = Vec::new();
            for d in details {
                if d.int("policy_id")? == policy_id {
                    failure_details.push(failure_detail(d)?);
                }
            }
            policy(p, failure_details)
        })
        .collect::<Result<_, StoreError>>()?;
    let diagnostics = diagnostics
        .iter()
        .map(|d| {
            let code = d.text("code")?;
            Ok(Diagnostic {
                code: DiagnosticCode::from_wire(&code).ok_or_else(|| {
                    StoreError::corrupt(format!("report {id}: unknown diagnostic code {code:?}"))
                })?,
                path: d.text("path")?,
                message: d.text("message")?,
            })
        })
        .collect::<Result<_, StoreError>>()?;

    let message = if row.flag("via_message")? {
        Some(MessageMeta {
            tls_report_domain: row.opt_text("tls_report_domain")?,
            tls_report_submitter: row.opt_text("tls_report_submitter")?,
            subject_report_id: row.opt_text("subject_report_id")?,
            message_id: row.opt_text("message_id")?,
            from: row.opt_text("message_from")?,
            subject: row.opt_text("message_subject")?,
            date: row.opt_text("message_date")?,
        })
    } else {
        None
    };
    Ok(StoredReport {
        id: ReportId(id),
        submission_id: SubmissionId(row.int("submission_id")?),
        dedup_key: row.text("dedup_key")?,
        parsed: ParsedReport {
            report: Report {
                organization_name: row.opt_text("organization_name")?,
                date_range: DateRange {
                    start: from_us(row.int("range_start_us")?)?,
                    end: from_us(row.int("range_end_us")?)?,
                    start_raw: row.text("start_raw")?,
                    end_raw: row.text("end_raw")?,
                },
                contact_info: row.opt_text("contact_info")?,
                report_id: row.opt_text("report_id")?,
                policies,
            },
            diagnostics,
        },
        message,
        file_name: row.opt_text("file_name")?,
        parser_version: row.text("parser_version")?,
        duplicate_count: unsigned(row.int("duplicate_count")?)?,
        last_duplicate_at: row
            .opt_int("last_duplicate_at_us")?
            .map(from_us)
            .transpose()?,
        stored_at: from_us(row.int("stored_at_us")?)?,
        authentication: authentication(row)
            .map_err(|error| StoreError::corrupt(format!("report {id}: {error}")))?,
        quarantined: row.flag("quarantined")?,
    })
}

/// A submission's sender verdict from its `auth_result`, `auth_domain` and `auth_reason`
/// columns.
pub(crate) fn authentication(row: &impl Columns) -> Result<Authentication, StoreError> {
    let auth_result = row.text("auth_result")?;
    Ok(Authentication {
        result: AuthResult::from_wire(&auth_result)
            .ok_or_else(|| StoreError::corrupt(format!("auth result {auth_result:?}")))?,
        domain: row.opt_text("auth_domain")?,
        reason: row.opt_text("auth_reason")?,
    })
}

fn policy(
    row: &impl Columns,
    failure_details: Vec<FailureDetail>,
) -> Result<PolicyResult, StoreError> {
    Ok(PolicyResult {
        policy: Policy {
            policy_type: PolicyType::from_wire(&row.text("policy_type")?),
            policy_string: json_array(&row.text("policy_string")?)?,
            policy_domain: row.opt_text("policy_domain")?,
            mx_host: json_array(&row.text("mx_host")?)?,
        },
        summary: Summary {
            total_successful_session_count: unsigned(row.int("successful")?)?,
            total_failure_session_count: unsigned(row.int("failed")?)?,
        },
        failure_details,
    })
}

fn failure_detail(row: &impl Columns) -> Result<FailureDetail, StoreError> {
    Ok(FailureDetail {
        result_type: ResultType::from_wire(&row.text("result_type")?),
        sending_mta_ip: row.opt_text("sending_mta_ip")?.map(ip_value),
        receiving_mx_hostname: row.opt_text("receiving_mx_hostname")?,
        receiving_mx_helo: row.opt_text("receiving_mx_helo")?,
        receiving_ip: row.opt_text("receiving_ip")?.map(ip_value),
        failed_session_count: unsigned(row.int("failed_session_count")?)?,
        additional_information: row.opt_text("additional_information")?,
        failure_reason_code: row.opt_text("failure_reason_code")?,
    })
}

/// IPs are stored as text (canonical for parsed ones); what parses again was an address.
fn ip_value(text: String) -> IpValue {
    match text.parse() {
        Ok(addr) => IpValue::Addr(addr),
        Err(_) => IpValue::Unparsed(text),
    }
}

pub(crate) fn json_array(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(format!("JSON array {text:?}: {e}")))
}

pub(crate) fn unsigned(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::corrupt(format!("negative count {value}")))
}

/// A daily policy rollup row (`day` as 'YYYY-MM-DD' text).
pub(crate) fn policy_rollup(row: &impl Columns) -> Result<DailyPolicyRollup, StoreError> {
    Ok(DailyPolicyRollup {
        day: parse_day(&row.text("day")?)?,
        policy_domain: row.text("policy_domain")?,
        organization: row.text("organization")?,
        policy_type: PolicyType::from_wire(&row.text("policy_type")?),
        successful: unsigned(row.int("successful")?)?,
        failed: unsigned(row.int("failed")?)?,
        reports: unsigned(row.int("reports")?)?,
    })
}

/// A daily failure rollup row (`day` as 'YYYY-MM-DD' text).
pub(crate) fn failure_rollup(row: &impl Columns) -> Result<DailyFailureRollup, StoreError> {
    Ok(DailyFailureRollup {
        day: parse_day(&row.text("day")?)?,
        policy_domain: row.text("policy_domain")?,
        organization: row.text("organization")?,
        policy_type: PolicyType::from_wire(&row.text("policy_type")?),
        result_type: ResultType::from_wire(&row.text("result_type")?),
        failed_sessions: unsigned(row.int("failed_sessions")?)?,
        details: unsigned(row.int("details")?)?,
    })
}
