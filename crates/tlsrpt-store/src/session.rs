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

/// The session methods of a backend, one SQL for both (`$N` parameters work in SQLite too):
/// `$writer` and `$reader` name the store's pools.
macro_rules! session_methods {
    ($store:ty, $writer:ident, $reader:ident) => {
        impl $store {
            /// Stores `session` and deletes expired ones, in one transaction on the writer connection.
            pub async fn create_web_session(
                &self,
                session: &$crate::session::NewWebSession,
                now: i64,
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.$writer.begin().await.map_err(db_error)?;
                sqlx::query("DELETE FROM web_sessions WHERE expires_at_us <= $1")
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                sqlx::query(
                    "INSERT INTO web_sessions (token_sha256, user_name, csrf, created_at_us, \
                     expires_at_us) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind($crate::session::token_hash(&session.token))
                .bind(&session.user)
                .bind(&session.csrf)
                .bind(now)
                .bind($crate::prepare::to_us(&session.expires_at))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
                tx.commit().await.map_err(db_error)
            }

            pub async fn web_session(
                &self,
                token: &str,
                now: i64,
            ) -> Result<Option<$crate::session::WebSession>, $crate::StoreError> {
                sqlx::query(
                    "SELECT user_name, csrf, created_at_us, expires_at_us FROM web_sessions \
                     WHERE token_sha256 = $1 AND expires_at_us > $2",
                )
                .bind($crate::session::token_hash(token))
                .bind(now)
                .fetch_optional(&self.$reader)
                .await
                .map_err(db_error)?
                .map(|row| {
                    Ok($crate::session::WebSession {
                        user: sqlx::Row::try_get(&row, 0).map_err(db_error)?,
                        csrf: sqlx::Row::try_get(&row, 1).map_err(db_error)?,
                        created_at: $crate::prepare::from_us(
                            sqlx::Row::try_get(&row, 2).map_err(db_error)?,
                        )?,
                        expires_at: $crate::prepare::from_us(
                            sqlx::Row::try_get(&row, 3).map_err(db_error)?,
                        )?,
                    })
                })
                .transpose()
            }

            pub async fn delete_web_session(
                &self,
                token: &str,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query("DELETE FROM web_sessions WHERE token_sha256 = $1")
                    .bind($crate::session::token_hash(token))
                    .execute(&self.$writer)
                    .await
                    .map_err(db_error)?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}
pub(crate) use session_methods;
