//! Reading back: reports, submissions for reprocessing, counts, rollups, integrity.

use sqlx::Row;
use sqlx::postgres::{PgConnection, PgRow};

use super::rollup::{self, DIFFERENCES, FAILURE_COLUMNS, POLICY_COLUMNS};
use super::{PgStore, db_error};
use crate::decode;
use crate::prepare::day_text;
use crate::{DailyFailureRollup, DailyPolicyRollup, RollupFilter, StoreError, StoredReport};

impl PgStore {
    pub async fn daily_policy_rollups(
        &self,
        filter: &RollupFilter,
    ) -> Result<Vec<DailyPolicyRollup>, StoreError> {
        self.rollup_rows(
            POLICY_COLUMNS,
            "daily_policy_rollups",
            r#"day, policy_domain COLLATE "C", organization COLLATE "C", policy_type COLLATE "C""#,
            filter,
            decode::policy_rollup,
        )
        .await
    }

    pub async fn daily_failure_rollups(
        &self,
        filter: &RollupFilter,
    ) -> Result<Vec<DailyFailureRollup>, StoreError> {
        self.rollup_rows(
            FAILURE_COLUMNS,
            "daily_failure_rollups",
            r#"day, policy_domain COLLATE "C", organization COLLATE "C", policy_type COLLATE "C",
               result_type COLLATE "C""#,
            filter,
            decode::failure_rollup,
        )
        .await
    }

    /// Rollup rows in a day range, optionally of one domain. With a domain the
    /// `(policy_domain, day)` index answers directly; without, the primary key (day first).
    /// Text sorts bytewise (`COLLATE "C"`), as in SQLite, whatever the database's locale.
    async fn rollup_rows<T>(
        &self,
        columns: &str,
        table: &str,
        order: &str,
        filter: &RollupFilter,
        decode: fn(&sqlx::postgres::PgRow) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let domain = if filter.policy_domain.is_some() {
            "AND policy_domain = $3 "
        } else {
            ""
        };
        let sql = format!(
            "SELECT {columns} FROM {table} \
             WHERE day BETWEEN coalesce($1::date, '-infinity') AND coalesce($2::date, 'infinity') \
             {domain}ORDER BY {order}"
        );
        let query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(filter.from.as_ref().map(day_text))
            .bind(filter.to.as_ref().map(day_text));
        let query = match &filter.policy_domain {
            Some(domain) => query.bind(domain.as_str()),
            None => query,
        };
        query
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?
            .iter()
            .map(decode)
            .collect()
    }

    pub async fn rebuild_rollups(&self) -> Result<(), StoreError> {
        self.retrying(|| async {
            let mut tx = self.pool.begin().await.map_err(db_error)?;
            rollup::rebuild(&mut tx).await?;
            tx.commit().await.map_err(db_error)
        })
        .await
    }

    /// Compares the rollups with a recomputation in one snapshot (REPEATABLE READ), so
    /// receivers writing meanwhile cannot make them look different. PostgreSQL checks its
    /// own constraints on every write; there is no separate consistency scan to run.
    pub async fn check_integrity(&self) -> Result<(), StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(db_error)?;
        for (table, sql) in DIFFERENCES {
            if let Some(row) = sqlx::query(sql)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error)?
            {
                let side: String = row.try_get(0).map_err(db_error)?;
                let values: String = row.try_get(1).map_err(db_error)?;
                return Err(StoreError::corrupt(format!(
                    "{table} differs from a recomputation: only the {side} rows have {values}"
                )));
            }
        }
        tx.commit().await.map_err(db_error)
    }

    pub async fn report_by_dedup_key(
        &self,
        dedup_key: &str,
    ) -> Result<Option<StoredReport>, StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(db_error)?;
        let report = read_report(&mut tx, ReportKey::Dedup(dedup_key))
            .await?
            .map(|(report, _)| report);
        tx.commit().await.map_err(db_error)?;
        Ok(report)
    }
}

/// Which report [`read_report`] reads.
pub(super) enum ReportKey<'a> {
    Id(i64),
    Dedup(&'a str),
}

/// A whole report, with its submission's authentication and provenance columns in the
/// returned row (for `crate::query::provenance`).
pub(super) async fn read_report(
    conn: &mut PgConnection,
    key: ReportKey<'_>,
) -> Result<Option<(StoredReport, PgRow)>, StoreError> {
    const SELECT: &str = "SELECT reports.*, to_char(reports.range_day, 'YYYY-MM-DD') AS partition_day, \
         submissions.auth_result, submissions.auth_domain, submissions.auth_reason, \
         submissions.quarantined, submissions.origin, submissions.source_name, \
         submissions.received_at_us \
         FROM reports JOIN submissions ON submissions.id = reports.submission_id ";
    let query = match key {
        ReportKey::Id(id) => sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT}WHERE reports.id = $1"
        )))
        .bind(id),
        ReportKey::Dedup(dedup_key) => sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT}WHERE reports.dedup_key = $1"
        )))
        .bind(dedup_key),
    };
    let Some(row) = query.fetch_optional(&mut *conn).await.map_err(db_error)? else {
        return Ok(None);
    };
    let id: i64 = row.try_get("id").map_err(db_error)?;
    // The partition key narrows each child query to one month's partition.
    let day: String = row.try_get("partition_day").map_err(db_error)?;
    let policies = sqlx::query(
        "SELECT id, policy_type, policy_domain, policy_string, mx_host, successful, failed \
         FROM policies WHERE report_id = $1 AND range_day = $2::date ORDER BY policy_index",
    )
    .bind(id)
    .bind(&day)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let details = sqlx::query(
        "SELECT policy_id, result_type, sending_mta_ip, receiving_mx_hostname, receiving_mx_helo, \
         receiving_ip, failed_session_count, additional_information, failure_reason_code \
         FROM failure_details WHERE range_day = $2::date AND policy_id IN \
         (SELECT id FROM policies WHERE report_id = $1 AND range_day = $2::date) ORDER BY id",
    )
    .bind(id)
    .bind(&day)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let diagnostics = sqlx::query(
        "SELECT code, path, message FROM diagnostics \
         WHERE report_id = $1 AND range_day = $2::date ORDER BY id",
    )
    .bind(id)
    .bind(&day)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let report = decode::report(&row, &policies, &details, &diagnostics)?;
    Ok(Some((report, row)))
}
