//! Bulk loading ([`Store::import`]): batches added one after the other, committed when the
//! caller says so rather than one transaction per batch.
//!
//! Why: in an import, files arrive in whatever order the filesystem lists them, so each batch
//! touches rollup and index pages all over their trees, and every commit writes each touched
//! page to the WAL again. Committing every few batches writes a page once for all of them
//! (measured in docs/PERFORMANCE.md), and when input trickles in slowly it avoids a durable
//! flush per handful of reports. Memory stays bounded by the batch the caller holds; SQLite
//! spills pages beyond its cache to the WAL inside the transaction.

use crate::postgres::PgStore;
use crate::sqlite::SqliteImport;
use crate::{Backend, PreparedSubmission, Store, StoreError, SubmissionOutcome};

/// An import in progress; see [`Store::import`]. Dropping it without [`Import::commit`]
/// rolls back (SQLite) whatever was added since the last commit.
pub struct Import<'s> {
    backend: ImportBackend<'s>,
}

enum ImportBackend<'s> {
    Sqlite(SqliteImport),
    /// PostgreSQL has no WAL page-rewrite cost to amortise and many writers: each batch
    /// commits on its own, as [`Store::insert_prepared`] does.
    Postgres(&'s PgStore),
}

impl Store {
    /// Starts a bulk load; see [`Import`].
    pub fn import(&self) -> Import<'_> {
        let backend = match &self.backend {
            Backend::Sqlite(s) => ImportBackend::Sqlite(s.import()),
            Backend::Postgres(s) => ImportBackend::Postgres(s),
        };
        Import { backend }
    }
}

impl Import<'_> {
    /// Stores `submissions` like [`Store::insert_prepared`], one outcome each, in order, but
    /// on SQLite durable only after the next [`Import::commit`]. After an error, drop the
    /// import: the batches since the last commit are rolled back.
    pub async fn add(
        &mut self,
        submissions: Vec<PreparedSubmission>,
    ) -> Result<Vec<SubmissionOutcome>, StoreError> {
        let outcomes = match &mut self.backend {
            ImportBackend::Sqlite(import) => import.add(&submissions).await,
            ImportBackend::Postgres(store) => store.ingest(&submissions).await,
        };
        // Freeing a batch's million small strings took a twentieth of the writer's time;
        // another thread can do that while the writer goes on.
        tokio::task::spawn_blocking(move || drop(submissions));
        outcomes
    }

    /// Makes everything added so far durable.
    pub async fn commit(&mut self) -> Result<(), StoreError> {
        match &mut self.backend {
            ImportBackend::Sqlite(import) => import.commit().await,
            ImportBackend::Postgres(_) => Ok(()),
        }
    }
}
