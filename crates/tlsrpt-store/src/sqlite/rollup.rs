//! Daily rollups, maintained in SQL from the detail rows themselves.
//!
//! One query shape defines what a rollup row is ([`policy_rollup_select!`],
//! [`failure_rollup_select!`]). Every maintenance step is that query over a set of reports,
//! upserted with `x = x + excluded.x`:
//! * a write adds the reports it just inserted (their ids are one contiguous range);
//! * a reprocess first adds the negated sums of the reports it is about to delete;
//! * a rebuild empties the tables and adds everything.
//!
//! Aggregating inside SQLite, over rows the transaction just wrote and still has cached, is
//! cheaper than aggregating in Rust and binding every key back (the rollup step took about
//! half as long in the insert benchmark), and the incremental and rebuilt rollups cannot drift
//! apart by construction. [`compare`] still checks that they agree.
//!
//! Reports of quarantined submissions (`unknown_domains = "quarantine"`: a policy domain this
//! instance does not serve) are stored for a person to look at but left out of the rollups,
//! so they never reach the dashboards' figures or the alerts.

use sqlx::Row;
use sqlx::sqlite::{SqliteConnection, SqliteRow};

use super::db_error;
use crate::StoreError;

/// Policy rollup rows from `reports` ⋈ `policies`, in primary-key order, each sum prefixed
/// with `$sign` and the reports narrowed by `$filter`.
macro_rules! policy_rollup_select {
    ($sign:literal, $filter:literal) => {
        concat!(
            "SELECT r.range_day, coalesce(p.policy_domain, ''), coalesce(r.organization_name, ''), ",
            "p.policy_type, ",
            $sign,
            "sum(p.successful), ",
            $sign,
            "sum(p.failed), ",
            $sign,
            "count(DISTINCT r.id) ",
            "FROM reports r JOIN submissions s ON s.id = r.submission_id AND s.quarantined = 0 ",
            "JOIN policies p ON p.report_id = r.id ",
            $filter,
            " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
        )
    };
}

/// Failure rollup rows from `reports` ⋈ `policies` ⋈ `failure_details`, like
/// [`policy_rollup_select!`].
macro_rules! failure_rollup_select {
    ($sign:literal, $filter:literal) => {
        concat!(
            "SELECT r.range_day, coalesce(p.policy_domain, ''), coalesce(r.organization_name, ''), ",
            "p.policy_type, f.result_type, ",
            $sign,
            "sum(f.failed_session_count), ",
            $sign,
            "count(*) ",
            "FROM reports r JOIN submissions s ON s.id = r.submission_id AND s.quarantined = 0 ",
            "JOIN policies p ON p.report_id = r.id ",
            "JOIN failure_details f ON f.policy_id = p.id ",
            $filter,
            " GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"
        )
    };
}

/// Adds [`policy_rollup_select!`] rows to the stored ones. (SQLite needs the `WHERE` that
/// every `$filter` has to parse `ON CONFLICT` after a `SELECT`.)
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

/// Stored rollup rows narrowed by an optional day range (`?1`, `?2`, inclusive, NULL =
/// unbounded) and, in the second form, one policy domain (`?3`).
///
/// The primary keys lead with the day, so rows arrive in date order and each write touches the
/// end of the table only; a second index leading with the domain would take a random page
/// per new row and measurably slowed small-batch ingest. A domain's rows are instead reached
/// with one primary-key seek per day of the range (`day IN days`), the days enumerated by a
/// recursive CTE (bounded by the stored days when the range is open).
macro_rules! stored_rollups {
    ($columns:literal, $table:literal, $order:literal) => {
        [
            concat!(
                "SELECT ",
                $columns,
                " FROM ",
                $table,
                " WHERE day BETWEEN coalesce(?1, '') AND coalesce(?2, '9999-12-31')",
                " ORDER BY ",
                $order
            ),
            concat!(
                "WITH RECURSIVE days(d) AS (",
                "SELECT coalesce(?1, (SELECT min(day) FROM ",
                $table,
                ")) ",
                "UNION ALL SELECT date(d, '+1 day') FROM days ",
                "WHERE d < coalesce(?2, (SELECT max(day) FROM ",
                $table,
                "))) ",
                "SELECT ",
                $columns,
                " FROM ",
                $table,
                " WHERE policy_domain = ?3 AND day IN (SELECT d FROM days) ORDER BY ",
                $order
            ),
        ]
    };
}

/// [all domains, one domain]; see [`stored_rollups!`].
pub(super) const STORED_POLICY: [&str; 2] = stored_rollups!(
    "day, policy_domain, organization, policy_type, successful, failed, reports",
    "daily_policy_rollups",
    "day, policy_domain, organization, policy_type"
);
pub(super) const STORED_FAILURE: [&str; 2] = stored_rollups!(
    "day, policy_domain, organization, policy_type, result_type, failed_sessions, details",
    "daily_failure_rollups",
    "day, policy_domain, organization, policy_type, result_type"
);

/// Adds the reports with ids `first..=last` (all inserted by the current transaction).
pub(super) async fn add_reports(
    conn: &mut SqliteConnection,
    first: i64,
    last: i64,
) -> Result<(), StoreError> {
    for sql in [
        policy_rollup_upsert!("", "WHERE r.id BETWEEN ?1 AND ?2"),
        failure_rollup_upsert!("", "WHERE r.id BETWEEN ?1 AND ?2"),
    ] {
        sqlx::query(sql)
            .bind(first)
            .bind(last)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

/// Subtracts the reports of one submission, which the caller is about to delete, then drops
/// the rows this emptied unless the caller adds to them again (see [`delete_emptied`]).
pub(super) async fn subtract_submission(
    conn: &mut SqliteConnection,
    submission_id: i64,
) -> Result<(), StoreError> {
    for sql in [
        policy_rollup_upsert!("-", "WHERE r.submission_id = ?"),
        failure_rollup_upsert!("-", "WHERE r.submission_id = ?"),
    ] {
        sqlx::query(sql)
            .bind(submission_id)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

/// Removes rows that subtraction emptied. Both deletes use partial indexes holding exactly
/// those rows, so this costs nothing when there are none.
pub(super) async fn delete_emptied(conn: &mut SqliteConnection) -> Result<(), StoreError> {
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

/// Replaces both rollup tables with a recomputation (the caller holds the transaction).
pub(super) async fn rebuild(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM daily_policy_rollups",
        "DELETE FROM daily_failure_rollups",
        policy_rollup_upsert!("", "WHERE true"),
        failure_rollup_upsert!("", "WHERE true"),
    ] {
        sqlx::query(sql)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

/// Compares stored rollups with a recomputation; the error names the first difference.
pub(super) async fn compare(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    let stored = fetch(conn, all_days(STORED_POLICY[0]), policy_row).await?;
    let recomputed = fetch(conn, sqlx::query(policy_rollup_select!("", "")), policy_row).await?;
    first_difference("daily_policy_rollups", &stored, &recomputed)?;
    let stored = fetch(conn, all_days(STORED_FAILURE[0]), failure_row).await?;
    let recomputed = fetch(
        conn,
        sqlx::query(failure_rollup_select!("", "")),
        failure_row,
    )
    .await?;
    first_difference("daily_failure_rollups", &stored, &recomputed)
}

type Query = sqlx::query::Query<'static, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>;

/// A stored-rollup query over every day.
fn all_days(sql: &'static str) -> Query {
    sqlx::query(sql).bind(None::<String>).bind(None::<String>)
}

fn first_difference<T: PartialEq + std::fmt::Debug>(
    table: &str,
    stored: &[T],
    recomputed: &[T],
) -> Result<(), StoreError> {
    let at = stored
        .iter()
        .zip(recomputed)
        .position(|(s, r)| s != r)
        .or_else(|| (stored.len() != recomputed.len()).then(|| stored.len().min(recomputed.len())));
    match at {
        None => Ok(()),
        Some(i) => Err(StoreError::corrupt(format!(
            "{table} differs from a recomputation at row {i}: stored {:?}, recomputed {:?}",
            stored.get(i),
            recomputed.get(i)
        ))),
    }
}

async fn fetch<T>(
    conn: &mut SqliteConnection,
    query: Query,
    decode: fn(&SqliteRow) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    query
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?
        .iter()
        .map(decode)
        .collect()
}

/// The key columns shared by both rollup tables, as stored.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Key {
    pub day: String,
    pub policy_domain: String,
    pub organization: String,
    pub policy_type: String,
}

/// A stored or recomputed policy rollup row: key, successful, failed, reports.
pub(super) type PolicyRow = (Key, i64, i64, i64);
/// A stored or recomputed failure rollup row: key, result type, failed sessions, details.
pub(super) type FailureRow = (Key, String, i64, i64);

pub(super) fn policy_row(row: &SqliteRow) -> Result<PolicyRow, StoreError> {
    Ok((key(row)?, int(row, 4)?, int(row, 5)?, int(row, 6)?))
}

pub(super) fn failure_row(row: &SqliteRow) -> Result<FailureRow, StoreError> {
    Ok((
        key(row)?,
        row.try_get(4).map_err(db_error)?,
        int(row, 5)?,
        int(row, 6)?,
    ))
}

fn key(row: &SqliteRow) -> Result<Key, StoreError> {
    Ok(Key {
        day: row.try_get(0).map_err(db_error)?,
        policy_domain: row.try_get(1).map_err(db_error)?,
        organization: row.try_get(2).map_err(db_error)?,
        policy_type: row.try_get(3).map_err(db_error)?,
    })
}

fn int(row: &SqliteRow, index: usize) -> Result<i64, StoreError> {
    row.try_get(index).map_err(db_error)
}
