//! Alert state on SQLite (migration 0005); the SQL is shared with PostgreSQL.

use super::{SqliteStore, db_error};

crate::alerts::alert_methods!(SqliteStore, sqlx::Sqlite, writer, readers);
