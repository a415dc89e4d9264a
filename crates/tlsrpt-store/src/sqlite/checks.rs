//! The daily domain checks (`domain_checks`, `check_changes`; migration 0004).

use sqlx::Row;

use super::{SqliteStore, db_error};
use crate::StoreError;
use crate::model::NewDomainCheck;
use crate::prepare::to_us;

impl SqliteStore {
    /// One run and its changes, in one transaction on the writer.
    pub async fn insert_domain_check(&self, check: &NewDomainCheck) -> Result<i64, StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        let id: i64 = sqlx::query(
            "INSERT INTO domain_checks (domain, checked_at_us, status, snapshot, findings) \
             VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&check.domain)
        .bind(to_us(&check.checked_at))
        .bind(&check.status)
        .bind(&check.snapshot)
        .bind(&check.findings)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?
        .try_get(0)
        .map_err(db_error)?;
        for change in &check.changes {
            sqlx::query(
                "INSERT INTO check_changes (check_id, domain, kind, detail) VALUES (?, ?, ?, ?)",
            )
            .bind(id)
            .bind(&check.domain)
            .bind(&change.kind)
            .bind(&change.detail)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(id)
    }
}
