//! Store errors, classified by what the caller should do about them.
//!
//! Receivers translate these into protocol answers: [`StoreError::Unavailable`] is temporary
//! (HTTP 503, SMTP 4xx: the sender retries later), [`StoreError::InvalidValue`] is permanent
//! for that input, and [`StoreError::Corrupt`] needs an operator.

use thiserror::Error;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be reached or written right now: I/O error, disk full, locked
    /// by another process past the busy timeout, pool closed. Retrying later may succeed.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] BoxError),

    /// Stored data is damaged or not what this version wrote.
    #[error("database corrupt: {what}")]
    Corrupt { what: String },

    /// A value cannot be stored as given. `field` names it, e.g.
    /// `submissions[2].reports[0].policies[1].summary.total-failure-session-count`.
    #[error("{field}: {reason}")]
    InvalidValue { field: String, reason: String },

    /// The schema could not be brought up to date.
    #[error("database migration failed: {0}")]
    Migration(#[source] BoxError),

    /// The URL names no backend this build supports.
    #[error("unsupported database URL {url:?}: {reason}")]
    UnsupportedUrl { url: String, reason: String },

    /// An error that is none of the above; a bug in this crate rather than the environment.
    #[error("unexpected database error: {0}")]
    Internal(#[source] BoxError),
}

impl StoreError {
    /// Whether retrying the same operation later may succeed (receivers answer "try again").
    pub fn is_temporary(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        StoreError::InvalidValue {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        StoreError::Corrupt { what: what.into() }
    }

    /// Prefixes the field of an [`StoreError::InvalidValue`] with where it sits in a batch.
    pub(crate) fn within(self, prefix: &str) -> Self {
        match self {
            StoreError::InvalidValue { field, reason } => StoreError::InvalidValue {
                field: format!("{prefix}.{field}"),
                reason,
            },
            other => other,
        }
    }
}
