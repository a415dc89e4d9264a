//! Runs the shared dashboard, API and export queries (`crate::query`) on SQLite.

use super::read::{concat_report_select, read_report_row};
use super::{SqliteStore, db_error};
use crate::query::{FromColumns, Statement};
use crate::{Provenance, ReportId, StoreError, StoredReport};

impl SqliteStore {
    /// Every row of `statement`, decoded.
    pub async fn fetch_all<T: FromColumns>(
        &self,
        statement: &Statement<'_>,
    ) -> Result<Vec<T>, StoreError> {
        crate::query::fetch_all(&self.readers, statement.sql, &statement.params, db_error).await
    }

    pub async fn report_by_id(
        &self,
        id: ReportId,
    ) -> Result<Option<(StoredReport, Provenance)>, StoreError> {
        let mut conn = self.readers.acquire().await.map_err(db_error)?;
        let mut tx = sqlx::Connection::begin(&mut *conn)
            .await
            .map_err(db_error)?;
        let Some(row) = sqlx::query(concat_report_select!("WHERE reports.id = ?"))
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?
        else {
            return Ok(None);
        };
        let report = read_report_row(&mut tx, &row).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(Some((report, crate::query::provenance(&row)?)))
    }
}
