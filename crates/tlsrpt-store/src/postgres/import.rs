//! Writing rows exported from SQLite ([`crate::Store::copy_into`]).

use super::{PgStore, db_error};
use crate::StoreError;
use crate::copy::Table;

impl PgStore {
    pub async fn row_count(&self, table: &Table) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {}",
            table.name
        )))
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(count as u64)
    }

    /// Inserts rows given as JSON objects keyed by column name, in one statement.
    pub async fn import_page(&self, table: &Table, objects: &[String]) -> Result<(), StoreError> {
        let json = format!("[{}]", objects.join(","));
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {0} SELECT * FROM json_populate_recordset(NULL::{0}, $1::json)",
            table.name
        )))
        .bind(json)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    pub async fn create_partitions(&self, days: &[String]) -> Result<(), StoreError> {
        sqlx::query("SELECT tlsrpt_ensure_partitions($1::date[])")
            .bind(days)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// Moves each table's id sequence past the copied ids (and past `next`, the source's own
    /// next id, so ids it had used and deleted are not handed out again).
    pub async fn advance_sequences(&self, next: &[(String, i64)]) -> Result<(), StoreError> {
        for table in [
            "submissions",
            "reports",
            "policies",
            "failure_details",
            "diagnostics",
        ] {
            let source_next = next
                .iter()
                .find(|(name, _)| name == table)
                .map_or(1, |(_, n)| *n);
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT setval('{table}_id_seq', \
                 greatest((SELECT coalesce(max(id), 0) + 1 FROM {table}), $1), false)"
            )))
            .bind(source_next)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        }
        Ok(())
    }
}
