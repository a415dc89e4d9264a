//! Dashboard login sessions on PostgreSQL (migration 0006); the SQL is shared with SQLite
//! (`crate::session`).

use super::{PgStore, db_error};

crate::session::session_methods!(PgStore, pool, pool);
