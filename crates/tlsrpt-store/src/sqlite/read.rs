//! Reading back: reports, submissions for reprocessing, counts, rollups, integrity.

use sqlx::Row;
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use tlsrpt_core::extract::MessageMeta;
use tlsrpt_core::{
    DateRange, Diagnostic, DiagnosticCode, FailureDetail, IpValue, ParsedReport, Policy,
    PolicyResult, PolicyType, Report, ResultType, Summary,
};

use super::rollup::{self, STORED_FAILURE, STORED_POLICY};
use super::{SqliteStore, db_error};
use crate::prepare::{day_text, from_us, parse_day};
use crate::{
    AuthResult, Authentication, DailyFailureRollup, DailyPolicyRollup, Origin, RawBlob,
    RawEncoding, ReportId, RollupFilter, StoreCounts, StoreError, StoredReport, StoredSubmission,
    SubmissionId,
};

/// A report row with the authentication columns of its submission, as [`read_report_row`]
/// reads it, narrowed by `$filter`.
macro_rules! concat_report_select {
    ($filter:literal) => {
        concat!(
            "SELECT reports.*, submissions.auth_result, submissions.auth_domain, ",
            "submissions.auth_reason, submissions.quarantined ",
            "FROM reports JOIN submissions ON submissions.id = reports.submission_id ",
            $filter
        )
    };
}
pub(super) use concat_report_select;

impl SqliteStore {
    pub async fn counts(&self) -> Result<StoreCounts, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM submissions), (SELECT count(*) FROM reports), \
             (SELECT count(*) FROM policies), (SELECT count(*) FROM failure_details), \
             (SELECT count(*) FROM diagnostics), \
             (SELECT coalesce(sum(duplicate_count), 0) FROM reports)",
        )
        .fetch_one(&self.readers)
        .await
        .map_err(db_error)?;
        let get =
            |i: usize| -> Result<u64, StoreError> { unsigned(row.try_get(i).map_err(db_error)?) };
        Ok(StoreCounts {
            submissions: get(0)?,
            reports: get(1)?,
            policies: get(2)?,
            failure_details: get(3)?,
            diagnostics: get(4)?,
            duplicates_seen: get(5)?,
        })
    }

    pub async fn daily_policy_rollups(
        &self,
        filter: &RollupFilter,
    ) -> Result<Vec<DailyPolicyRollup>, StoreError> {
        self.rollup_rows(&STORED_POLICY, filter, |row| {
            let (k, successful, failed, reports) = rollup::policy_row(row)?;
            Ok(DailyPolicyRollup {
                day: parse_day(&k.day)?,
                policy_domain: k.policy_domain,
                organization: k.organization,
                policy_type: PolicyType::from_wire(&k.policy_type),
                successful: unsigned(successful)?,
                failed: unsigned(failed)?,
                reports: unsigned(reports)?,
            })
        })
        .await
    }

    pub async fn daily_failure_rollups(
        &self,
        filter: &RollupFilter,
    ) -> Result<Vec<DailyFailureRollup>, StoreError> {
        self.rollup_rows(&STORED_FAILURE, filter, |row| {
            let (k, result_type, failed_sessions, details) = rollup::failure_row(row)?;
            Ok(DailyFailureRollup {
                day: parse_day(&k.day)?,
                policy_domain: k.policy_domain,
                organization: k.organization,
                policy_type: PolicyType::from_wire(&k.policy_type),
                result_type: ResultType::from_wire(&result_type),
                failed_sessions: unsigned(failed_sessions)?,
                details: unsigned(details)?,
            })
        })
        .await
    }

    /// Runs the all-domains or one-domain form of a stored-rollup query.
    async fn rollup_rows<T>(
        &self,
        sql: &[&'static str; 2],
        filter: &RollupFilter,
        decode: impl Fn(&SqliteRow) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let query = sqlx::query(sql[usize::from(filter.policy_domain.is_some())])
            .bind(filter.from.as_ref().map(day_text))
            .bind(filter.to.as_ref().map(day_text));
        let query = match &filter.policy_domain {
            Some(domain) => query.bind(domain.as_str()),
            None => query,
        };
        query
            .fetch_all(&self.readers)
            .await
            .map_err(db_error)?
            .iter()
            .map(decode)
            .collect()
    }

    pub async fn rebuild_rollups(&self) -> Result<(), StoreError> {
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_error)?;
        rollup::rebuild(&mut tx).await?;
        tx.commit().await.map_err(db_error)
    }

    pub async fn check_integrity(&self) -> Result<(), StoreError> {
        let mut conn = self.readers.acquire().await.map_err(db_error)?;
        let integrity: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
        if integrity != ["ok"] {
            return Err(StoreError::corrupt(format!(
                "integrity_check: {}",
                integrity.join("; ")
            )));
        }
        if let Some(row) = sqlx::query("PRAGMA foreign_key_check")
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?
        {
            let table: String = row.try_get(0).map_err(db_error)?;
            let rowid: Option<i64> = row.try_get(1).map_err(db_error)?;
            let parent: String = row.try_get(2).map_err(db_error)?;
            return Err(StoreError::corrupt(format!(
                "{table} row {rowid:?} references a missing {parent} row"
            )));
        }
        // One read transaction: both sides of the comparison see the same snapshot even while
        // the writer commits.
        let mut tx = sqlx::Connection::begin(&mut *conn)
            .await
            .map_err(db_error)?;
        rollup::compare(&mut tx).await?;
        tx.commit().await.map_err(db_error)
    }

    pub async fn submissions(
        &self,
        after: Option<SubmissionId>,
        limit: u32,
    ) -> Result<Vec<StoredSubmission>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, origin, source_name, received_at_us, raw_size, raw_sha256, raw_encoding, \
             raw FROM submissions WHERE id > ? ORDER BY id LIMIT ?",
        )
        .bind(after.map_or(0, |id| id.0))
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await
        .map_err(db_error)?;
        let page: Vec<(StoredSubmission, RawBlob)> = rows
            .into_iter()
            .map(|row| submission(&row))
            .collect::<Result<_, _>>()?;
        // Inflating and hashing a page is CPU work: keep it off the async workers.
        tokio::task::spawn_blocking(move || {
            page.into_iter()
                .map(|(mut sub, blob)| {
                    sub.raw = blob.decompress().map_err(|e| {
                        StoreError::corrupt(format!("submission {}: {e}", sub.id.0))
                    })?;
                    Ok(sub)
                })
                .collect()
        })
        .await
        .map_err(|e| StoreError::Internal(e.into()))?
    }

    pub async fn report_by_dedup_key(
        &self,
        dedup_key: &str,
    ) -> Result<Option<StoredReport>, StoreError> {
        let mut conn = self.readers.acquire().await.map_err(db_error)?;
        let mut tx = sqlx::Connection::begin(&mut *conn)
            .await
            .map_err(db_error)?;
        let Some(row) = sqlx::query(concat_report_select!("WHERE reports.dedup_key = ?"))
            .bind(dedup_key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?
        else {
            return Ok(None);
        };
        let report = read_report_row(&mut tx, &row).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(Some(report))
    }
}

fn submission(row: &SqliteRow) -> Result<(StoredSubmission, RawBlob), StoreError> {
    let id: i64 = row.try_get("id").map_err(db_error)?;
    let origin: &str = row.try_get("origin").map_err(db_error)?;
    let encoding: &str = row.try_get("raw_encoding").map_err(db_error)?;
    let sha256: Vec<u8> = row.try_get("raw_sha256").map_err(db_error)?;
    let blob = RawBlob::from_stored(
        row.try_get("raw").map_err(db_error)?,
        RawEncoding::from_wire(encoding).ok_or_else(|| {
            StoreError::corrupt(format!("submission {id}: raw encoding {encoding:?}"))
        })?,
        unsigned(row.try_get("raw_size").map_err(db_error)?)?,
        sha256.try_into().map_err(|_| {
            StoreError::corrupt(format!("submission {id}: SHA-256 is not 32 bytes"))
        })?,
    );
    let sub = StoredSubmission {
        id: SubmissionId(id),
        origin: Origin::from_wire(origin)
            .ok_or_else(|| StoreError::corrupt(format!("submission {id}: origin {origin:?}")))?,
        source_name: row.try_get("source_name").map_err(db_error)?,
        received_at: from_us(row.try_get("received_at_us").map_err(db_error)?)?,
        raw: Vec::new(),
    };
    Ok((sub, blob))
}

pub(super) async fn read_report_row(
    conn: &mut SqliteConnection,
    row: &SqliteRow,
) -> Result<StoredReport, StoreError> {
    let id: i64 = row.try_get("id").map_err(db_error)?;
    let policies = sqlx::query(
        "SELECT id, policy_type, policy_domain, policy_string, mx_host, successful, failed \
         FROM policies WHERE report_id = ? ORDER BY policy_index",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let details = sqlx::query(
        "SELECT policy_id, result_type, sending_mta_ip, receiving_mx_hostname, receiving_mx_helo, \
         receiving_ip, failed_session_count, additional_information, failure_reason_code \
         FROM failure_details \
         WHERE policy_id IN (SELECT id FROM policies WHERE report_id = ?) ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let diagnostics =
        sqlx::query("SELECT code, path, message FROM diagnostics WHERE report_id = ? ORDER BY id")
            .bind(id)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;

    let policies = policies
        .iter()
        .map(|p| {
            let policy_id: i64 = p.try_get("id").map_err(db_error)?;
            let failure_details = details
                .iter()
                .filter(|d| {
                    d.try_get::<i64, _>("policy_id")
                        .is_ok_and(|pid| pid == policy_id)
                })
                .map(failure_detail)
                .collect::<Result<_, _>>()?;
            policy(p, failure_details)
        })
        .collect::<Result<_, StoreError>>()?;
    let diagnostics = diagnostics
        .iter()
        .map(|d| {
            let code: &str = d.try_get("code").map_err(db_error)?;
            Ok(Diagnostic {
                code: DiagnosticCode::from_wire(code).ok_or_else(|| {
                    StoreError::corrupt(format!("report {id}: unknown diagnostic code {code:?}"))
                })?,
                path: d.try_get("path").map_err(db_error)?,
                message: d.try_get("message").map_err(db_error)?,
            })
        })
        .collect::<Result<_, StoreError>>()?;

    let get_text =
        |name: &str| -> Result<Option<String>, StoreError> { row.try_get(name).map_err(db_error) };
    let via_message: bool = row.try_get("via_message").map_err(db_error)?;
    let message = if via_message {
        Some(MessageMeta {
            tls_report_domain: get_text("tls_report_domain")?,
            tls_report_submitter: get_text("tls_report_submitter")?,
            subject_report_id: get_text("subject_report_id")?,
            message_id: get_text("message_id")?,
            from: get_text("message_from")?,
            subject: get_text("message_subject")?,
            date: get_text("message_date")?,
        })
    } else {
        None
    };
    let last_duplicate: Option<i64> = row.try_get("last_duplicate_at_us").map_err(db_error)?;
    let auth_result: &str = row.try_get("auth_result").map_err(db_error)?;
    Ok(StoredReport {
        id: ReportId(id),
        submission_id: SubmissionId(row.try_get("submission_id").map_err(db_error)?),
        dedup_key: row.try_get("dedup_key").map_err(db_error)?,
        parsed: ParsedReport {
            report: Report {
                organization_name: get_text("organization_name")?,
                date_range: DateRange {
                    start: from_us(row.try_get("range_start_us").map_err(db_error)?)?,
                    end: from_us(row.try_get("range_end_us").map_err(db_error)?)?,
                    start_raw: row.try_get("start_raw").map_err(db_error)?,
                    end_raw: row.try_get("end_raw").map_err(db_error)?,
                },
                contact_info: get_text("contact_info")?,
                report_id: get_text("report_id")?,
                policies,
            },
            diagnostics,
        },
        message,
        file_name: get_text("file_name")?,
        parser_version: row.try_get("parser_version").map_err(db_error)?,
        duplicate_count: unsigned(row.try_get("duplicate_count").map_err(db_error)?)?,
        last_duplicate_at: last_duplicate.map(from_us).transpose()?,
        stored_at: from_us(row.try_get("stored_at_us").map_err(db_error)?)?,
        authentication: Authentication {
            result: AuthResult::from_wire(auth_result).ok_or_else(|| {
                StoreError::corrupt(format!("report {id}: auth result {auth_result:?}"))
            })?,
            domain: get_text("auth_domain")?,
            reason: get_text("auth_reason")?,
        },
        quarantined: row.try_get("quarantined").map_err(db_error)?,
    })
}

fn policy(
    row: &SqliteRow,
    failure_details: Vec<FailureDetail>,
) -> Result<PolicyResult, StoreError> {
    Ok(PolicyResult {
        policy: Policy {
            policy_type: PolicyType::from_wire(row.try_get("policy_type").map_err(db_error)?),
            policy_string: json_array(row.try_get("policy_string").map_err(db_error)?)?,
            policy_domain: row.try_get("policy_domain").map_err(db_error)?,
            mx_host: json_array(row.try_get("mx_host").map_err(db_error)?)?,
        },
        summary: Summary {
            total_successful_session_count: unsigned(row.try_get("successful").map_err(db_error)?)?,
            total_failure_session_count: unsigned(row.try_get("failed").map_err(db_error)?)?,
        },
        failure_details,
    })
}

fn failure_detail(row: &SqliteRow) -> Result<FailureDetail, StoreError> {
    let text =
        |name: &str| -> Result<Option<String>, StoreError> { row.try_get(name).map_err(db_error) };
    Ok(FailureDetail {
        result_type: ResultType::from_wire(row.try_get("result_type").map_err(db_error)?),
        sending_mta_ip: text("sending_mta_ip")?.map(ip_value),
        receiving_mx_hostname: text("receiving_mx_hostname")?,
        receiving_mx_helo: text("receiving_mx_helo")?,
        receiving_ip: text("receiving_ip")?.map(ip_value),
        failed_session_count: unsigned(row.try_get("failed_session_count").map_err(db_error)?)?,
        additional_information: text("additional_information")?,
        failure_reason_code: text("failure_reason_code")?,
    })
}

/// IPs are stored as text (canonical for parsed ones); what parses again was an address.
fn ip_value(text: String) -> IpValue {
    match text.parse() {
        Ok(addr) => IpValue::Addr(addr),
        Err(_) => IpValue::Unparsed(text),
    }
}

pub(super) fn json_array(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(format!("JSON array {text:?}: {e}")))
}

pub(super) fn unsigned(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::corrupt(format!("negative count {value}")))
}
