//! Alert state on PostgreSQL (migration 0005); the SQL is shared with SQLite.

use super::{PgStore, db_error};

crate::alerts::alert_methods!(PgStore, sqlx::Postgres, pool, pool);
