//! Runs the shared dashboard, API and export queries (`crate::query`) on PostgreSQL.

use super::read::{ReportKey, read_report};
use super::{PgStore, db_error};
use crate::query::{FromColumns, Statement, postgres_sql};
use crate::{Provenance, ReportId, StoreError, StoredReport};

impl PgStore {
    /// Every row of `statement`, decoded.
    pub async fn fetch_all<T: FromColumns>(
        &self,
        statement: &Statement<'_>,
    ) -> Result<Vec<T>, StoreError> {
        crate::query::fetch_all(
            &self.pool,
            sqlx::AssertSqlSafe(postgres_sql(statement.sql)),
            &statement.params,
            db_error,
        )
        .await
    }

    pub async fn report_by_id(
        &self,
        id: ReportId,
    ) -> Result<Option<(StoredReport, Provenance)>, StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(db_error)?;
        let read = read_report(&mut tx, ReportKey::Id(id.0)).await?;
        tx.commit().await.map_err(db_error)?;
        read.map(|(report, row)| Ok((report, crate::query::provenance(&row)?)))
            .transpose()
    }
}
