//! Reading back: reports, submissions for reprocessing, counts, rollups, integrity.

use sqlx::Row;
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use tlsrpt_core::{PolicyType, ResultType};

use super::rollup::{self, STORED_FAILURE, STORED_POLICY};
use super::{SqliteStore, db_error};
use crate::decode;
use crate::decode::unsigned;
use crate::prepare::{day_text, parse_day};
use crate::{DailyFailureRollup, DailyPolicyRollup, RollupFilter, StoreError, StoredReport};

/// A report row with the authentication and provenance columns of its submission, as
/// [`read_report_row`] and `crate::query::provenance` read it, narrowed by `$filter`.
macro_rules! concat_report_select {
    ($filter:literal) => {
        concat!(
            "SELECT reports.*, submissions.auth_result, submissions.auth_domain, ",
            "submissions.auth_reason, submissions.quarantined, submissions.origin, ",
            "submissions.source_name, submissions.received_at_us ",
            "FROM reports JOIN submissions ON submissions.id = reports.submission_id ",
            $filter
        )
    };
}
pub(super) use concat_report_select;

impl SqliteStore {
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
    decode::report(row, &policies, &details, &diagnostics)
}
