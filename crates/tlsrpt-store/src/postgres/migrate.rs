//! Schema migrations for PostgreSQL (see [`crate::migrations`]): the same versions as the
//! SQLite list, each mirroring its SQLite twin's tables and columns.

use sqlx::postgres::PgPool;

use crate::StoreError;
use crate::migrations::{List, migrator};

const MIGRATIONS: List = &[
    (
        1,
        "initial schema",
        include_str!("../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "authentication",
        include_str!("../../migrations/postgres/0002_authentication.sql"),
    ),
    (
        3,
        "dashboard indexes",
        include_str!("../../migrations/postgres/0003_dashboard.sql"),
    ),
    (
        4,
        "daily domain checks",
        include_str!("../../migrations/postgres/0004_checks.sql"),
    ),
    (
        5,
        "alert state and notification log",
        include_str!("../../migrations/postgres/0005_alerts.sql"),
    ),
    (
        6,
        "web sessions",
        include_str!("../../migrations/postgres/0006_web_sessions.sql"),
    ),
];

pub(super) async fn run(pool: &PgPool) -> Result<(), StoreError> {
    migrator(MIGRATIONS).run(pool).await.map_err(|e| match e {
        sqlx::migrate::MigrateError::Execute(e) => super::db_error(e),
        other => StoreError::Migration(other.into()),
    })
}
