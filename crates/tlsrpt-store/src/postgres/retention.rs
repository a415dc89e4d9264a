//! Retention for PostgreSQL: whole months go at once, by dropping their partitions, which
//! frees the space immediately and costs no delete per row (nor vacuum after it).
//!
//! A month is dropped once all of it lies before the cutoff, so PostgreSQL keeps up to a
//! month more than `retention_days` asks. The month's rollup rows go in the same transaction,
//! so rollups still equal a recomputation afterwards.

use chrono::{Datelike, NaiveDate, NaiveTime};
use sqlx::Row;

use super::{PgStore, db_error};
use crate::prepare::to_us;
use crate::{Pruned, StoreError};

/// Children first: a partition can only be detached once nothing references its rows.
const TABLES: [&str; 4] = ["failure_details", "diagnostics", "policies", "reports"];

impl PgStore {
    pub async fn prune(&self, before: NaiveDate) -> Result<Pruned, StoreError> {
        let boundary = NaiveDate::from_ymd_opt(before.year(), before.month(), 1)
            .expect("the first of a month exists");
        let cutoff_us = to_us(&before.and_time(NaiveTime::MIN).and_utc());
        self.retrying(|| async move {
            let mut tx = self.pool.begin().await.map_err(db_error)?;
            // The writers' lock order (parents before children), so no deadlock with them;
            // they wait for the few milliseconds the detaching takes.
            sqlx::query(
                "LOCK TABLE reports, policies, failure_details, diagnostics \
                 IN ACCESS EXCLUSIVE MODE",
            )
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
            let months: Vec<String> = sqlx::query(
                "SELECT substr(c.relname, length('reports_p') + 1) FROM pg_inherits i \
                 JOIN pg_class c ON c.oid = i.inhrelid \
                 WHERE i.inhparent = 'reports'::regclass AND c.relname ~ '^reports_p[0-9]{6}$' \
                 AND to_date(substr(c.relname, length('reports_p') + 1), 'YYYYMM') \
                     + interval '1 month' <= $1::date \
                 ORDER BY 1",
            )
            .bind(boundary.to_string())
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()
            .map_err(db_error)?;
            let mut pruned = Pruned::default();
            for month in &months {
                let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT count(*) FROM reports_p{month}"
                )))
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
                pruned.reports += count as u64;
                for table in TABLES {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "ALTER TABLE {table} DETACH PARTITION {table}_p{month}; \
                         DROP TABLE {table}_p{month}"
                    )))
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                }
            }
            for sql in [
                "DELETE FROM daily_policy_rollups WHERE day < $1::date",
                "DELETE FROM daily_failure_rollups WHERE day < $1::date",
            ] {
                sqlx::query(sql)
                    .bind(boundary.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
            }
            pruned.submissions = sqlx::query(
                "DELETE FROM submissions s WHERE received_at_us < $1 AND NOT EXISTS \
                 (SELECT 1 FROM reports r WHERE r.submission_id = s.id)",
            )
            .bind(cutoff_us)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected();
            tx.commit().await.map_err(db_error)?;
            self.months.lock().expect("months lock").clear();
            Ok(pruned)
        })
        .await
    }
}
