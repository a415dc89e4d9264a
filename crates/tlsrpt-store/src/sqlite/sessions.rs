//! Dashboard login sessions on SQLite (migration 0006); the SQL is shared with PostgreSQL
//! (`crate::session`).

use super::{SqliteStore, db_error};

crate::session::session_methods!(SqliteStore, writer, readers);
