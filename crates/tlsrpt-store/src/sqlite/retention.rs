//! Retention for SQLite: old reports are deleted one `range_day` at a time, each day in its
//! own short write transaction together with that day's rollup rows. Receivers keep writing
//! between the days instead of waiting for one huge delete, and after every commit the rollups
//! still equal a recomputation. Children go with their report (ON DELETE CASCADE).
//!
//! There is no index on `range_day` (every insert would pay for it); finding the next day
//! scans `reports`, which a daily job can afford.

use chrono::{NaiveDate, NaiveTime};

use super::{SqliteStore, db_error};
use crate::prepare::{day_text, to_us};
use crate::{Pruned, StoreError};

impl SqliteStore {
    pub async fn prune(&self, before: NaiveDate) -> Result<Pruned, StoreError> {
        let cutoff = day_text(&before);
        let mut pruned = Pruned::default();
        loop {
            let mut tx = self
                .writer
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(db_error)?;
            let day: Option<String> =
                sqlx::query_scalar("SELECT min(range_day) FROM reports WHERE range_day < ?")
                    .bind(&cutoff)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_error)?;
            let Some(day) = day else {
                pruned.submissions = delete_unreferenced_submissions(&mut tx, before).await?;
                tx.commit().await.map_err(db_error)?;
                break;
            };
            pruned.reports += sqlx::query("DELETE FROM reports WHERE range_day = ?")
                .bind(&day)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?
                .rows_affected();
            for sql in [
                "DELETE FROM daily_policy_rollups WHERE day = ?",
                "DELETE FROM daily_failure_rollups WHERE day = ?",
            ] {
                sqlx::query(sql)
                    .bind(&day)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)?;
        }
        self.checkpoint_in_background();
        Ok(pruned)
    }
}

/// Raw bytes received before `before` that no report refers to any more.
async fn delete_unreferenced_submissions(
    conn: &mut sqlx::SqliteConnection,
    before: NaiveDate,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "DELETE FROM submissions WHERE received_at_us < ? AND NOT EXISTS \
         (SELECT 1 FROM reports r WHERE r.submission_id = submissions.id)",
    )
    .bind(to_us(&before.and_time(NaiveTime::MIN).and_utc()))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?
    .rows_affected())
}
