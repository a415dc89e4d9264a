//! The daily domain checks (`domain_checks`, `check_changes`; migration 0004), as in
//! `src/sqlite/checks.rs`.

use super::{PgStore, db_error};
use crate::StoreError;
use crate::model::NewDomainCheck;
use crate::prepare::to_us;

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
}
