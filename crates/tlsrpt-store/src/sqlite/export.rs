//! Reading a SQLite store row by row for [`crate::Store::copy_into`]: each row as one JSON
//! object keyed by column name, which PostgreSQL's `json_populate_recordset` turns back into
//! a row of the same-named table (both schemas have the same columns; see the parity test).

use sqlx::Row;

use super::{SqliteStore, db_error};
use crate::StoreError;
use crate::copy::Table;

impl SqliteStore {
    /// Rows in a table.
    pub async fn row_count(&self, table: &Table) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {}",
            table.name
        )))
        .fetch_one(&self.readers)
        .await
        .map_err(db_error)?;
        Ok(count as u64)
    }

    /// The next page of rows as JSON objects, after key `after` (id tables page by id,
    /// the rollup tables by position), with the key to continue from.
    pub async fn export_page(
        &self,
        table: &Table,
        after: i64,
        limit: u32,
    ) -> Result<(Vec<String>, i64), StoreError> {
        let columns: Vec<(String, String)> =
            sqlx::query("SELECT name, type FROM pragma_table_info(?) ORDER BY cid")
                .bind(table.name)
                .fetch_all(&self.readers)
                .await
                .map_err(db_error)?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_, sqlx::Error>>()
                .map_err(db_error)?;
        let mut fields: Vec<String> = columns
            .iter()
            .map(|(name, kind)| match kind.as_str() {
                // bytea's hex input form.
                "BLOB" => format!("'{name}', '\\x' || hex(t.{name})"),
                _ => format!("'{name}', t.{name}"),
            })
            .collect();
        if table.partitioned_child {
            fields.push(
                "'range_day', (SELECT r.range_day FROM reports r WHERE r.id = t.report_id)".into(),
            );
        }
        let object = format!("json_object({})", fields.join(", "));
        let sql = match table.order {
            None => format!(
                "SELECT t.id, {object} FROM {} t WHERE t.id > ?1 ORDER BY t.id LIMIT ?2",
                table.name
            ),
            // The window numbers every row of the table (before LIMIT and OFFSET apply), so
            // the number is the row's absolute position: the offset of the next page.
            Some(order) => format!(
                "SELECT row_number() OVER (ORDER BY {order}), {object} FROM {} t \
                 ORDER BY {order} LIMIT ?2 OFFSET ?1",
                table.name
            ),
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.readers)
            .await
            .map_err(db_error)?;
        let mut next = after;
        let mut objects = Vec::with_capacity(rows.len());
        for row in &rows {
            next = row.try_get(0).map_err(db_error)?;
            objects.push(row.try_get(1).map_err(db_error)?);
        }
        Ok((objects, next))
    }

    /// The days reports cover (to create PostgreSQL's partitions before copying).
    pub async fn report_days(&self) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar("SELECT DISTINCT range_day FROM reports")
            .fetch_all(&self.readers)
            .await
            .map_err(db_error)
    }

    /// The next id each sequence-backed table would hand out (AUTOINCREMENT never reuses).
    pub async fn next_ids(&self) -> Result<Vec<(String, i64)>, StoreError> {
        sqlx::query("SELECT name, seq + 1 FROM sqlite_sequence")
            .fetch_all(&self.readers)
            .await
            .map_err(db_error)?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db_error)
    }
}
