//! Schema migrations for SQLite, embedded in the binary.
//!
//! sqlx's own [`Migrator`] runs them (each in a transaction, recorded with a checksum in
//! `_sqlx_migrations`, so an edited migration is detected instead of silently skipped). Only
//! the `migrate!` macro needs sqlx's `macros` feature; building the list by hand from
//! `include_str!` gives the same embedded migrations without that compile-time stack.

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::SqlitePool;

use crate::StoreError;

/// Version, description, SQL. Append only; never edit an entry once released.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial schema",
        include_str!("../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "authentication",
        include_str!("../../migrations/sqlite/0002_authentication.sql"),
    ),
    (
        3,
        "dashboard indexes",
        include_str!("../../migrations/sqlite/0003_dashboard.sql"),
    ),
    (
        4,
        "daily domain checks",
        include_str!("../../migrations/sqlite/0004_checks.sql"),
    ),
];

pub(super) async fn run(pool: &SqlitePool) -> Result<(), StoreError> {
    let migrations = MIGRATIONS
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(
                version,
                description.into(),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
        .run(pool)
        .await
        .map_err(|e| StoreError::Migration(e.into()))
}
