//! Dashboard login sessions (`web_sessions`, migration 0006; see `crate::session`).

use sqlx::Row;

use super::{SqliteStore, db_error};
use crate::StoreError;
use crate::prepare::{from_us, to_us};
use crate::session::{NewWebSession, WebSession, token_hash};

impl SqliteStore {
    /// Stores `session` and deletes expired ones, in one transaction on the writer.
    pub async fn create_web_session(
        &self,
        session: &NewWebSession,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        sqlx::query("DELETE FROM web_sessions WHERE expires_at_us <= ?")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query(
            "INSERT INTO web_sessions (token_sha256, user_name, csrf, created_at_us, \
             expires_at_us) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(token_hash(&session.token))
        .bind(&session.user)
        .bind(&session.csrf)
        .bind(now)
        .bind(to_us(&session.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }

    pub async fn web_session(
        &self,
        token: &str,
        now: i64,
    ) -> Result<Option<WebSession>, StoreError> {
        sqlx::query(
            "SELECT user_name, csrf, created_at_us, expires_at_us FROM web_sessions \
             WHERE token_sha256 = ? AND expires_at_us > ?",
        )
        .bind(token_hash(token))
        .bind(now)
        .fetch_optional(&self.readers)
        .await
        .map_err(db_error)?
        .map(|row| {
            Ok(WebSession {
                user: row.try_get(0).map_err(db_error)?,
                csrf: row.try_get(1).map_err(db_error)?,
                created_at: from_us(row.try_get(2).map_err(db_error)?)?,
                expires_at: from_us(row.try_get(3).map_err(db_error)?)?,
            })
        })
        .transpose()
    }

    pub async fn delete_web_session(&self, token: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM web_sessions WHERE token_sha256 = ?")
            .bind(token_hash(token))
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected() > 0)
    }
}
