//! Schema migrations for SQLite (see [`crate::migrations`]).

use sqlx::sqlite::SqlitePool;

use crate::StoreError;
use crate::migrations::{List, migrator};

/// Version, description, SQL. Append only; never edit an entry once released.
const MIGRATIONS: List = &[
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
    (
        5,
        "alert state and notification log",
        include_str!("../../migrations/sqlite/0005_alerts.sql"),
    ),
    (
        6,
        "web sessions",
        include_str!("../../migrations/sqlite/0006_web_sessions.sql"),
    ),
];

pub(super) async fn run(pool: &SqlitePool) -> Result<(), StoreError> {
    migrator(MIGRATIONS)
        .run(pool)
        .await
        .map_err(|e| StoreError::Migration(e.into()))
}
