//! Copying a whole SQLite store into an empty PostgreSQL store (`tlsrpt-hub migrate`).
//!
//! Rows are copied as they are, ids included (links and `reprocess` keep working), table by
//! table in foreign-key order, a page per statement. Each page is its own transaction, so a
//! failed copy leaves a partial target: the target must be empty to start, and the caller
//! drops and recreates it to try again. At the end every table's row count is compared.
//! Dashboard login sessions (`web_sessions`) are not copied: logging in again on the new
//! database costs less than carrying live credentials across.

use crate::{Backend, Store, StoreError};

/// Rows per page. Submissions carry their raw bytes (KiB each), so a page stays a few MiB.
const PAGE: u32 = 1000;

/// A table to copy.
pub(crate) struct Table {
    pub name: &'static str,
    /// Carries the report's `range_day` in PostgreSQL (its partition key), not in SQLite.
    pub partitioned_child: bool,
    /// `None`: page by `id`; otherwise the key order to page the rollups by position.
    pub order: Option<&'static str>,
}

/// Parents before children.
const TABLES: [Table; 11] = [
    Table {
        name: "submissions",
        partitioned_child: false,
        order: None,
    },
    Table {
        name: "reports",
        partitioned_child: false,
        order: None,
    },
    Table {
        name: "policies",
        partitioned_child: true,
        order: None,
    },
    Table {
        name: "failure_details",
        partitioned_child: true,
        order: None,
    },
    Table {
        name: "diagnostics",
        partitioned_child: true,
        order: None,
    },
    Table {
        name: "daily_policy_rollups",
        partitioned_child: false,
        order: Some("day, policy_domain, organization, policy_type"),
    },
    Table {
        name: "daily_failure_rollups",
        partitioned_child: false,
        order: Some("day, policy_domain, organization, policy_type, result_type"),
    },
    Table {
        name: "domain_checks",
        partitioned_child: false,
        order: None,
    },
    Table {
        name: "check_changes",
        partitioned_child: false,
        order: None,
    },
    Table {
        name: "alerts",
        partitioned_child: false,
        order: None,
    },
    Table {
        name: "alert_notifications",
        partitioned_child: false,
        order: None,
    },
];

/// Progress of [`Store::copy_into`], reported after every page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyProgress {
    pub table: &'static str,
    pub copied: u64,
    pub total: u64,
}

impl Store {
    /// Copies every row of this SQLite store into `target`, an empty PostgreSQL store, then
    /// verifies that each table has as many rows in both. Receivers should not write to
    /// either meanwhile. Returns each table's row count.
    pub async fn copy_into(
        &self,
        target: &Store,
        mut progress: impl FnMut(CopyProgress),
    ) -> Result<Vec<(&'static str, u64)>, StoreError> {
        let (Backend::Sqlite(source), Backend::Postgres(dest)) = (&self.backend, &target.backend)
        else {
            return Err(StoreError::invalid(
                "migrate",
                "copies from a SQLite store into a PostgreSQL store only",
            ));
        };
        for table in &TABLES {
            if dest.row_count(table).await? > 0 {
                return Err(StoreError::invalid(
                    "migrate",
                    format!(
                        "the target database is not empty (table {} has rows)",
                        table.name
                    ),
                ));
            }
        }
        dest.create_partitions(&source.report_days().await?).await?;
        let mut counts = Vec::with_capacity(TABLES.len());
        for table in &TABLES {
            let total = source.row_count(table).await?;
            let mut copied = 0;
            let mut after = 0;
            progress(CopyProgress {
                table: table.name,
                copied,
                total,
            });
            loop {
                let (rows, next) = source.export_page(table, after, PAGE).await?;
                if rows.is_empty() {
                    break;
                }
                dest.import_page(table, &rows).await?;
                copied += rows.len() as u64;
                after = next;
                progress(CopyProgress {
                    table: table.name,
                    copied,
                    total,
                });
            }
            let stored = dest.row_count(table).await?;
            if stored != total {
                return Err(StoreError::corrupt(format!(
                    "{}: {total} rows in SQLite but {stored} in PostgreSQL after copying",
                    table.name
                )));
            }
            counts.push((table.name, total));
        }
        dest.advance_sequences(&source.next_ids().await?).await?;
        Ok(counts)
    }
}
