//! Schema migrations, embedded in the binary; each backend lists its own
//! (`migrations/<backend>/NNNN_name.sql`), version for version.
//!
//! sqlx's own [`Migrator`] runs them (each in a transaction, recorded with a checksum in
//! `_sqlx_migrations`, so an edited migration is detected instead of silently skipped). Only
//! the `migrate!` macro needs sqlx's `macros` feature; building the list by hand from
//! `include_str!` gives the same embedded migrations without that compile-time stack.

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// Version, description, SQL. Append only; never edit an entry once released.
pub(crate) type List = &'static [(i64, &'static str, &'static str)];

pub(crate) fn migrator(list: List) -> Migrator {
    let migrations = list
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
}
