//! Daily rollups in PostgreSQL: the same definition and maintenance steps as the SQLite
//! backend's (see `src/sqlite/rollup.rs`), in PostgreSQL's dialect. Sums are cast back to
//! BIGINT (PostgreSQL sums BIGINTs as NUMERIC), so a sum that does not fit raises
//! numeric_value_out_of_range instead of being stored.
//!
//! Concurrency: the upserts of two receivers touching one rollup row serialise on that row's
//! lock and both additions land. Each upsert's rows are produced in key order, so two
//! transactions lock shared rows in the same order and cannot deadlock on them.

use sqlx::postgres::PgConnection;

use super::db_error;
use crate::StoreError;

/// Policy rollup rows from `reports` ⋈ `policies`, in key order, each sum prefixed with
/// `$sign` and the reports narrowed by `$filter`.
macro_rules! policy_rollup_select {
    ($sign:literal, $filter:literal) => {
        concat!(
            "SELECT r.range_day, coalesce(p.policy_domain, ''), coalesce(r.organization_name, ''), ",
            "p.policy_type, ",
            $sign, "sum(p.successful)::bigint, ",
            $sign, "sum(p.failed)::bigint, ",
            $sign, "count(DISTINCT r.id) ",
            "FROM reports r JOIN submissions s ON s.id = r.submission_id AND NOT s.quarantined ",
            "JOIN policies p ON p.report_id = r.id AND p.range_day = r.range_day ",
            $filter,
            " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
        )
    };
}

macro_rules! failure_rollup_select {
    ($sign:literal, $filter:literal) => {
        concat!(
            "SELECT r.range_day, coalesce(p.policy_domain, ''), coalesce(r.organization_name, ''), ",
            "p.policy_type, f.result_type, ",
            $sign, "sum(f.failed_session_count)::bigint, ",
            $sign, "count(*) ",
            "FROM reports r JOIN submissions s ON s.id = r.submission_id AND NOT s.quarantined ",
            "JOIN policies p ON p.report_id = r.id AND p.range_day = r.range_day ",
            "JOIN failure_details f ON f.policy_id = p.id AND f.range_day = p.range_day ",
            $filter,
            " GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"
        )
    };
}

macro_rules! policy_rollup_upsert {
    ($sign:literal, $filter:literal) => {
        concat!(
            "INSERT INTO daily_policy_rollups ",
            "(day, policy_domain, organization, policy_type, successful, failed, reports) ",
            policy_rollup_select!($sign, $filter),
            " ON CONFLICT (day, policy_domain, organization, policy_type) DO UPDATE SET ",
            "successful = daily_policy_rollups.successful + excluded.successful, ",
            "failed = daily_policy_rollups.failed + excluded.failed, ",
            "reports = daily_policy_rollups.reports + excluded.reports"
        )
    };
}

macro_rules! failure_rollup_upsert {
    ($sign:literal, $filter:literal) => {
        concat!(
            "INSERT INTO daily_failure_rollups ",
            "(day, policy_domain, organization, policy_type, result_type, failed_sessions, details) ",
            failure_rollup_select!($sign, $filter),
            " ON CONFLICT (day, policy_domain, organization, policy_type, result_type) DO UPDATE SET ",
            "failed_sessions = daily_failure_rollups.failed_sessions + excluded.failed_sessions, ",
            "details = daily_failure_rollups.details + excluded.details"
        )
    };
}

/// The rollup columns as the shared decoders read them (the day as 'YYYY-MM-DD' text).
pub(super) const POLICY_COLUMNS: &str = "to_char(day, 'YYYY-MM-DD') AS day, policy_domain, \
     organization, policy_type, successful, failed, reports";
pub(super) const FAILURE_COLUMNS: &str = "to_char(day, 'YYYY-MM-DD') AS day, policy_domain, \
     organization, policy_type, result_type, failed_sessions, details";

/// Adds the reports with these ids (all inserted by the current transaction).
pub(super) async fn add_reports(conn: &mut PgConnection, ids: &[i64]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    for sql in [
        policy_rollup_upsert!("", "WHERE r.id = ANY($1)"),
        failure_rollup_upsert!("", "WHERE r.id = ANY($1)"),
    ] {
        sqlx::query(sql)
            .bind(ids)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

/// Subtracts the reports of one submission, which the caller is about to delete.
pub(super) async fn subtract_submission(
    conn: &mut PgConnection,
    submission_id: i64,
) -> Result<(), StoreError> {
    for sql in [
        policy_rollup_upsert!("-", "WHERE r.submission_id = $1"),
        failure_rollup_upsert!("-", "WHERE r.submission_id = $1"),
    ] {
        sqlx::query(sql)
            .bind(submission_id)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

/// Removes rows that subtraction emptied (partial indexes hold exactly those).
pub(super) async fn delete_emptied(conn: &mut PgConnection) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM daily_policy_rollups WHERE reports = 0",
        "DELETE FROM daily_failure_rollups WHERE details = 0",
    ] {
        sqlx::query(sql)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

/// Replaces both rollup tables with a recomputation. The caller's transaction first locks
/// both tables, so no receiver adds to the old rows while they are replaced.
pub(super) async fn rebuild(conn: &mut PgConnection) -> Result<(), StoreError> {
    for sql in [
        "LOCK TABLE daily_policy_rollups, daily_failure_rollups IN EXCLUSIVE MODE",
        "DELETE FROM daily_policy_rollups",
        "DELETE FROM daily_failure_rollups",
        policy_rollup_upsert!("", ""),
        failure_rollup_upsert!("", ""),
    ] {
        sqlx::query(sql)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

/// Rows that are in the stored rollup table but not in a recomputation, or the other way
/// round: at most one, labelled with its side. A multiset difference in SQL, so the comparison
/// needs no sort order shared with Rust.
macro_rules! first_difference {
    ($table:literal, $columns:literal, $recompute:expr) => {
        concat!(
            "WITH stored AS (SELECT ",
            $columns,
            " FROM ",
            $table,
            "), ",
            "recomputed (",
            $columns,
            ") AS (",
            $recompute,
            ") ",
            "SELECT 'stored' AS side, s::text AS row FROM ",
            "(SELECT * FROM stored EXCEPT ALL SELECT * FROM recomputed) s ",
            "UNION ALL SELECT 'recomputed', r::text FROM ",
            "(SELECT * FROM recomputed EXCEPT ALL SELECT * FROM stored) r LIMIT 1"
        )
    };
}

/// (table, query) pairs for [`first_difference!`].
pub(super) const DIFFERENCES: [(&str, &str); 2] = [
    (
        "daily_policy_rollups",
        first_difference!(
            "daily_policy_rollups",
            "day, policy_domain, organization, policy_type, successful, failed, reports",
            policy_rollup_select!("", "")
        ),
    ),
    (
        "daily_failure_rollups",
        first_difference!(
            "daily_failure_rollups",
            "day, policy_domain, organization, policy_type, result_type, failed_sessions, details",
            failure_rollup_select!("", "")
        ),
    ),
];
