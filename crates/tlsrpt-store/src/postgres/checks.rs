//! The daily domain checks (`domain_checks`, `check_changes`; migration 0004), as in
//! `src/sqlite/checks.rs`.

use sqlx::Row;

use super::{PgStore, db_error};
use crate::StoreError;
use crate::model::{CheckChange, DomainCheck, NewDomainCheck};
use crate::prepare::{from_us, to_us};

impl PgStore {
    /// One run and its changes, in one transaction.
    pub async fn insert_domain_check(&self, check: &NewDomainCheck) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO domain_checks (domain, checked_at_us, status, snapshot, findings) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&check.domain)
        .bind(to_us(&check.checked_at))
        .bind(&check.status)
        .bind(&check.snapshot)
        .bind(&check.findings)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        sqlx::query(
            "INSERT INTO check_changes (check_id, domain, kind, detail) \
             SELECT $1, $2, k, d FROM UNNEST($3::text[], $4::text[]) WITH ORDINALITY AS c(k, d, n) \
             ORDER BY n",
        )
        .bind(id)
        .bind(&check.domain)
        .bind(
            check
                .changes
                .iter()
                .map(|c| c.kind.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            check
                .changes
                .iter()
                .map(|c| c.detail.as_str())
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(id)
    }

    pub async fn latest_domain_check(
        &self,
        domain: &str,
    ) -> Result<Option<DomainCheck>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT id, domain, checked_at_us, status, snapshot, findings FROM domain_checks \
             WHERE domain = $1 ORDER BY checked_at_us DESC, id DESC LIMIT 1",
        )
        .bind(domain)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        else {
            return Ok(None);
        };
        let id: i64 = row.try_get(0).map_err(db_error)?;
        let changes =
            sqlx::query("SELECT kind, detail FROM check_changes WHERE check_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(&self.pool)
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
            domain: row.try_get(1).map_err(db_error)?,
            checked_at: from_us(row.try_get(2).map_err(db_error)?)?,
            status: row.try_get(3).map_err(db_error)?,
            snapshot: row.try_get(4).map_err(db_error)?,
            findings: row.try_get(5).map_err(db_error)?,
            changes,
        }))
    }
}
