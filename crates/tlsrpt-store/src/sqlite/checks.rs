//! The daily domain checks (`domain_checks`, `check_changes`; migration 0004).

use sqlx::Row;

use super::{SqliteStore, db_error};
use crate::StoreError;
use crate::model::{CheckChange, DomainCheck, NewDomainCheck};
use crate::prepare::{from_us, to_us};

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

    pub async fn latest_domain_check(
        &self,
        domain: &str,
    ) -> Result<Option<DomainCheck>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT id, domain, checked_at_us, status, snapshot, findings FROM domain_checks \
             WHERE domain = ? ORDER BY checked_at_us DESC, id DESC LIMIT 1",
        )
        .bind(domain)
        .fetch_optional(&self.readers)
        .await
        .map_err(db_error)?
        else {
            return Ok(None);
        };
        let get = |i: usize| row.try_get::<String, _>(i).map_err(db_error);
        let id: i64 = row.try_get(0).map_err(db_error)?;
        let changes =
            sqlx::query("SELECT kind, detail FROM check_changes WHERE check_id = ? ORDER BY id")
                .bind(id)
                .fetch_all(&self.readers)
                .await
                .map_err(db_error)?
                .iter()
                .map(|row| {
                    Ok(CheckChange {
                        kind: row.try_get(0).map_err(db_error)?,
                        detail: row.try_get(1).map_err(db_error)?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some(DomainCheck {
            id,
            domain: get(1)?,
            checked_at: from_us(row.try_get(2).map_err(db_error)?)?,
            status: get(3)?,
            snapshot: get(4)?,
            findings: get(5)?,
            changes,
        }))
    }
}
