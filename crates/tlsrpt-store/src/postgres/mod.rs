//! The PostgreSQL backend: a connection pool shared by any number of `serve` processes.
//!
//! Unlike SQLite there is no single writer: every process writes concurrently, and the
//! database keeps the guarantees of [`crate::Store`] by itself. The unique key on
//! `(dedup_key, range_day)` decides which of two concurrent inserts of one report stores it
//! (the other counts a duplicate); rollups are upserts (`ON CONFLICT DO UPDATE`), so
//! concurrent additions to one row serialise on its lock instead of losing an update. Every
//! write takes its locks in one global order (report keys sorted, then report ids, then
//! rollup keys sorted), and a transaction that still hits a deadlock or serialisation
//! failure is retried whole.

mod alerts;
mod checks;
mod import;
mod insert;
mod migrate;
mod query;
mod read;
mod retention;
mod rollup;
mod sessions;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::StoreError;

/// Connections per process unless the URL says `pool_max_connections=N`. PostgreSQL's
/// default `max_connections` is 100; ten per receiver leaves room for several receivers,
/// the dashboard and maintenance.
const DEFAULT_MAX_CONNECTIONS: u32 = 10;
/// How long a request waits for a free connection (or for a new one while PostgreSQL is
/// down) before the store answers "unavailable" and the receiver answers 503/4xx.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Whole-transaction retries after a deadlock or serialisation failure.
const RETRIES: u32 = 5;
/// The pool's own URL parameter, removed before the URL is handed to the driver (which
/// would warn about an unknown libpq parameter).
const MAX_CONNECTIONS_PARAM: &str = "pool_max_connections";

#[derive(Debug, Clone)]
pub(crate) struct PgStore {
    pool: PgPool,
    /// Months ('YYYY-MM') whose partitions this process knows exist, so a write needs no
    /// extra round trip to check. Another process's `prune` may drop one meanwhile; a write
    /// that then finds no partition forgets them all and ensures again (see `insert`).
    months: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

impl PgStore {
    /// Connects to `url` (libpq style: `sslmode`, `sslrootcert`, `sslcert`, `sslkey`,
    /// `application_name`, ...) and brings the schema up to date. sqlx's migrator takes an
    /// advisory lock, so receivers starting together migrate once.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let (url, max_connections) = split_pool_params(url)?;
        let options = PgConnectOptions::from_str(&url).map_err(|e| StoreError::UnsupportedUrl {
            url: redact(&url),
            reason: e.to_string(),
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A connection that died with the server (restart, failover) is found and
            // replaced here, before a request uses it.
            .test_before_acquire(true)
            .connect_with(options)
            .await
            .map_err(db_error)?;
        migrate::run(&pool).await?;
        Ok(PgStore {
            pool,
            months: Default::default(),
        })
    }

    pub async fn close(self) -> Result<(), StoreError> {
        self.pool.close().await;
        Ok(())
    }

    /// Runs a write transaction, again from the start after a deadlock or serialisation
    /// failure (nothing of a failed attempt was committed).
    /// (A plain closure returning a future, not an async closure: the futures of async
    /// closures are not `Send` for every lifetime yet, and receivers spawn store calls.)
    async fn retrying<T, F>(&self, attempt: impl Fn() -> F) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, StoreError>>,
    {
        let mut tries = 0;
        loop {
            match attempt().await {
                Err(ref error) if tries < RETRIES && is_conflict(error) => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(5 << tries)).await;
                }
                other => return other,
            }
        }
    }
}

/// The URL without our pool parameter, and the pool size.
fn split_pool_params(url: &str) -> Result<(String, u32), StoreError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), DEFAULT_MAX_CONNECTIONS));
    };
    let mut max = DEFAULT_MAX_CONNECTIONS;
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some((MAX_CONNECTIONS_PARAM, value)) => {
                max = value.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                    StoreError::UnsupportedUrl {
                        url: redact(url),
                        reason: format!(
                            "{MAX_CONNECTIONS_PARAM} must be a positive integer, not {value:?}"
                        ),
                    }
                })?;
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, max))
}

/// The URL with any password replaced, for error messages and logs.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// SQLSTATE codes (PostgreSQL appendix A) that decide how an error is classified.
mod sqlstate {
    pub const SERIALIZATION_FAILURE: &str = "40001";
    pub const DEADLOCK_DETECTED: &str = "40P01";
    pub const NUMERIC_VALUE_OUT_OF_RANGE: &str = "22003";
    pub const READ_ONLY_SQL_TRANSACTION: &str = "25006";
    pub const CHECK_VIOLATION: &str = "23514";
    pub const DATA_CORRUPTED: &str = "XX001";
    pub const INDEX_CORRUPTED: &str = "XX002";
    /// Classes: connection exception, insufficient resources (disk full, too many
    /// connections), operator intervention (shutdown, restart), system error (I/O).
    pub const TEMPORARY_CLASSES: [&str; 4] = ["08", "53", "57", "58"];
}

/// The SQLSTATE of a database error the store passed on, and its message.
fn sqlstate(error: &StoreError) -> Option<(String, String)> {
    let (StoreError::Unavailable(source) | StoreError::Internal(source)) = error else {
        return None;
    };
    let db = source.downcast_ref::<sqlx::Error>()?.as_database_error()?;
    Some((db.code()?.into_owned(), db.message().to_owned()))
}

fn is_conflict(error: &StoreError) -> bool {
    matches!(
        sqlstate(error),
        Some((code, _)) if code == sqlstate::SERIALIZATION_FAILURE || code == sqlstate::DEADLOCK_DETECTED
    )
}

/// A row for a month whose partitions were dropped (by a `prune` elsewhere) since this
/// process last ensured them.
fn is_missing_partition(error: &StoreError) -> bool {
    matches!(
        sqlstate(error),
        Some((code, message)) if code == sqlstate::CHECK_VIOLATION && message.starts_with("no partition")
    )
}

/// Classifies a sqlx error for callers (see [`StoreError`]). Losing the connection (the
/// server restarts, the network drops) is temporary: receivers answer "try again" and the
/// pool reconnects by itself. The sqlx error itself is kept as the source.
pub(crate) fn db_error(error: sqlx::Error) -> StoreError {
    if let Some(db) = error.as_database_error() {
        let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
        return match code.as_str() {
            sqlstate::SERIALIZATION_FAILURE
            | sqlstate::DEADLOCK_DETECTED
            | sqlstate::READ_ONLY_SQL_TRANSACTION => StoreError::Unavailable(error.into()),
            // Only rollup sums can leave BIGINT: every stored count was checked before.
            sqlstate::NUMERIC_VALUE_OUT_OF_RANGE => {
                StoreError::invalid("daily rollup", db.message().to_owned())
            }
            sqlstate::DATA_CORRUPTED | sqlstate::INDEX_CORRUPTED => {
                StoreError::corrupt(db.message().to_owned())
            }
            c if sqlstate::TEMPORARY_CLASSES
                .iter()
                .any(|class| c.starts_with(class)) =>
            {
                StoreError::Unavailable(error.into())
            }
            _ => StoreError::Internal(error.into()),
        };
    }
    match error {
        e @ (sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed) => StoreError::Unavailable(e.into()),
        e @ (sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_)) => {
            StoreError::corrupt(e.to_string())
        }
        other => StoreError::Internal(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_parameter_is_taken_out_of_the_url() {
        assert_eq!(
            split_pool_params("postgres://h/db?sslmode=require&pool_max_connections=3").unwrap(),
            ("postgres://h/db?sslmode=require".into(), 3)
        );
        assert_eq!(
            split_pool_params("postgres://h/db").unwrap(),
            ("postgres://h/db".into(), DEFAULT_MAX_CONNECTIONS)
        );
        assert!(split_pool_params("postgres://h/db?pool_max_connections=0").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
