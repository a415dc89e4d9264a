//! The SQLite backend: one writer connection and a small pool of readers over one WAL file.
//!
//! SQLite allows one writer at a time anyway; funnelling all writes through a single
//! connection turns lock contention (SQLITE_BUSY retries) into an orderly async queue, lets
//! that connection keep its prepared statements hot, and makes allocating ids inside the
//! write transaction safe. Readers see the last committed state and never block the writer
//! (WAL).

mod alerts;
mod bulk;
mod checks;
mod export;
mod insert;
mod migrate;
mod query;
mod read;
mod retention;
mod rollup;
mod sessions;

use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub(crate) use insert::SqliteImport;

use crate::StoreError;

/// SQLite primary result codes (`sqlite3.h`) that decide how an error is classified.
mod code {
    pub const ERROR: i32 = 1;
    pub const BUSY: i32 = 5;
    pub const LOCKED: i32 = 6;
    pub const NOMEM: i32 = 7;
    pub const READONLY: i32 = 8;
    pub const IOERR: i32 = 10;
    pub const CORRUPT: i32 = 11;
    pub const FULL: i32 = 13;
    pub const CANTOPEN: i32 = 14;
    pub const PROTOCOL: i32 = 15;
    pub const CONSTRAINT: i32 = 19;
    pub const NOTADB: i32 = 26;
}

/// Readers: enough for a dashboard and an API request beside a running import.
const READERS: u32 = 4;
/// How long a statement waits for another process's lock before reporting "unavailable".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Page cache per connection (KiB). A 100,000-report import ran no faster with 64 or 256 MiB
/// (the hot pages are the ends of the trees), and it must fit in 100 MB of resident memory.
const CACHE_KIB: i64 = 16 * 1024;
/// Room for every multi-row statement shape (see `bulk`) plus the fixed statements.
const STATEMENT_CACHE: usize = 512;
/// WAL size (pages) at which the writer checkpoints by itself: a backstop for when the
/// background checkpoints fall behind (64 MiB at the default page size).
const WRITER_AUTOCHECKPOINT: u32 = 16_384;

#[derive(Debug, Clone)]
pub(crate) struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
    /// One connection that copies committed WAL frames into the database file (see
    /// [`SqliteStore::checkpoint_in_background`]).
    checkpointer: SqlitePool,
}

impl SqliteStore {
    pub async fn open(path: &str) -> Result<Self, StoreError> {
        let base = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit survives power loss, not just a process crash (NORMAL in WAL
            // mode may lose the last commits), because receivers acknowledge after commit.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .statement_cache_capacity(STATEMENT_CACHE)
            .pragma("cache_size", format!("-{CACHE_KIB}"))
            .pragma("temp_store", "memory");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(120))
            .connect_with(
                base.clone()
                    .create_if_missing(true)
                    .optimize_on_close(true, 1000)
                    .pragma("wal_autocheckpoint", WRITER_AUTOCHECKPOINT.to_string()),
            )
            .await
            .map_err(db_error)?;
        migrate::run(&writer).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(base.clone().pragma("query_only", "ON"))
            .await
            .map_err(db_error)?;
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(base)
            .await
            .map_err(db_error)?;
        Ok(SqliteStore {
            writer,
            readers,
            checkpointer,
        })
    }

    /// Starts a passive checkpoint on the checkpointer connection unless one is running.
    ///
    /// With the writer checkpointing by itself, every commit that crossed the WAL limit also
    /// copied the WAL into the database file and flushed both, roughly doubling commit time
    /// in bulk imports. On its own connection (its own SQLite thread) that copy overlaps the
    /// writer's next transaction. A failed passive checkpoint loses nothing: the next one, or
    /// the writer's backstop, copies the same frames.
    fn checkpoint_in_background(&self) {
        if let Some(mut conn) = self.checkpointer.try_acquire() {
            tokio::spawn(async move {
                let _ = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&mut *conn)
                    .await;
            });
        }
    }

    pub async fn close(self) -> Result<(), StoreError> {
        self.readers.close().await;
        self.checkpointer.close().await;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        self.writer.close().await;
        Ok(())
    }
}

/// Classifies a sqlx error for callers (see [`StoreError`]).
pub(crate) fn db_error(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::Database(db) => {
            let extended = db.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0);
            let message = db.message().to_owned();
            match extended & 0xff {
                code::BUSY
                | code::LOCKED
                | code::NOMEM
                | code::READONLY
                | code::IOERR
                | code::FULL
                | code::CANTOPEN
                | code::PROTOCOL => StoreError::Unavailable(db.into()),
                code::CORRUPT | code::NOTADB => StoreError::corrupt(message),
                // Only the rollup `typeof` CHECKs can fail on values this crate writes, and
                // SUM() reports overflow as a plain error: both mean a sum beyond i64.
                code::CONSTRAINT if db.kind() == sqlx::error::ErrorKind::CheckViolation => {
                    StoreError::invalid("daily rollup", message)
                }
                code::ERROR if message.contains("integer overflow") => {
                    StoreError::invalid("daily rollup", message)
                }
                _ => StoreError::Internal(db.into()),
            }
        }
        sqlx::Error::Io(e) => StoreError::Unavailable(e.into()),
        e @ (sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed) => {
            StoreError::Unavailable(e.into())
        }
        e @ (sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_)) => {
            StoreError::corrupt(e.to_string())
        }
        other => StoreError::Internal(other.into()),
    }
}
