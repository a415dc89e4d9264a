//! Dashboard login sessions (migration 0006), stored so that they survive a restart of
//! `serve` and are shared by every `serve` on one database.
//!
//! A session is named by a secret token (the cookie value); the store keeps only its
//! SHA-256, so the database alone logs nobody in. Sessions past their expiry are never
//! returned and are deleted whenever a new one is created.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// A session to store at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebSession {
    /// The cookie value; only its hash is written.
    pub token: String,
    pub user: String,
    /// Token that state-changing forms of this session must carry.
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

/// A live session, as read back by its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    pub user: String,
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The stored key of a session token.
pub(crate) fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}
