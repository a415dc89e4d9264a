//! Alert state (migration 0005): the alerts the rules opened and resolved, who acknowledged
//! or muted them, and a log of their notifications. Backend-neutral.
//!
//! The store keeps the rule, severity and the alert itself as the hub wrote them (the alert
//! as JSON text), so it needs no knowledge of the rules. Both backends run the same SQL
//! (`$N` parameters work in SQLite too); `alert_methods!` expands it for each.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Whether an alert's problem persists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertState {
    Open,
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Resolved => "resolved",
        }
    }

    pub(crate) fn from_stored(text: &str) -> Result<Self, crate::StoreError> {
        match text {
            "open" => Ok(AlertState::Open),
            "resolved" => Ok(AlertState::Resolved),
            other => Err(crate::StoreError::corrupt(format!("alert state {other:?}"))),
        }
    }
}

/// An alert to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    pub domain: String,
    pub rule: String,
    /// `critical`, `high`, `medium` or `low`.
    pub severity: String,
    pub opened_at: DateTime<Utc>,
    /// The alert as JSON.
    pub alert: String,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredAlert {
    pub id: i64,
    pub domain: String,
    pub rule: String,
    pub severity: String,
    pub state: AlertState,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub last_evaluated_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub muted_until: Option<DateTime<Utc>>,
    /// When channels were last told it is open; `None`: never (muted or in cooldown).
    pub last_notified_at: Option<DateTime<Utc>>,
    /// The latest evaluation's alert as JSON.
    #[serde(skip)]
    pub alert: String,
}

/// Which alerts to list, newest (highest id) first; page with `before`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFilter {
    pub state: Option<AlertState>,
    pub domain: Option<String>,
    pub severity: Option<String>,
    pub before: Option<i64>,
    pub limit: u32,
}

/// One notice's delivery to one channel, as the channel code reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    pub alert_id: i64,
    /// `opened`, `resolved` or `test`.
    pub kind: String,
    pub channel: String,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    /// `None`: every attempt failed.
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// A logged notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertNotification {
    pub id: i64,
    pub alert_id: i64,
    pub kind: String,
    pub channel: String,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

pub(crate) const ALERT_COLUMNS: &str = "id, domain, rule, severity, state, opened_at_us, \
     resolved_at_us, last_evaluated_at_us, acknowledged_at_us, acknowledged_by, \
     muted_until_us, last_notified_at_us, alert";

/// The methods on one backend's store type: `$store` with its `$writer` and `$reader`
/// pools; the invoking module has that backend's `db_error` in scope.
macro_rules! alert_methods {
    ($store:ty, $db:ty, $writer:ident, $reader:ident) => {
        impl $store {
            pub async fn open_alert(
                &self,
                new: &$crate::alerts::NewAlert,
            ) -> Result<Option<i64>, $crate::StoreError> {
                let at = $crate::prepare::to_us(&new.opened_at);
                sqlx::query_scalar(
                    "INSERT INTO alerts (domain, rule, severity, state, opened_at_us, \
                     last_evaluated_at_us, alert) VALUES ($1, $2, $3, 'open', $4, $4, $5) \
                     ON CONFLICT (domain, rule) WHERE state = 'open' DO NOTHING RETURNING id",
                )
                .bind(&new.domain)
                .bind(&new.rule)
                .bind(&new.severity)
                .bind(at)
                .bind(&new.alert)
                .fetch_optional(&self.$writer)
                .await
                .map_err(db_error)
            }

            pub async fn refresh_alert(
                &self,
                id: i64,
                severity: &str,
                alert: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE alerts SET severity = $2, alert = $3, last_evaluated_at_us = $4 \
                     WHERE id = $1 AND state = 'open'",
                )
                .bind(id)
                .bind(severity)
                .bind(alert)
                .bind($crate::prepare::to_us(&at))
                .execute(&self.$writer)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() > 0)
            }

            pub async fn resolve_alert(
                &self,
                id: i64,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::StoreError> {
                self.alert_instant(
                    "UPDATE alerts SET state = 'resolved', resolved_at_us = $2, \
                     last_evaluated_at_us = $2 WHERE id = $1 AND state = 'open'",
                    id,
                    Some(at),
                )
                .await
            }

            pub async fn alert_notified(
                &self,
                id: i64,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::StoreError> {
                self.alert_instant(
                    "UPDATE alerts SET last_notified_at_us = $2 WHERE id = $1",
                    id,
                    Some(at),
                )
                .await
            }

            pub async fn mute_alert(
                &self,
                id: i64,
                until: Option<chrono::DateTime<chrono::Utc>>,
            ) -> Result<bool, $crate::StoreError> {
                self.alert_instant(
                    "UPDATE alerts SET muted_until_us = $2 WHERE id = $1",
                    id,
                    until,
                )
                .await
            }

            pub async fn acknowledge_alert(
                &self,
                id: i64,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE alerts SET acknowledged_at_us = $2, acknowledged_by = $3 \
                     WHERE id = $1",
                )
                .bind(id)
                .bind($crate::prepare::to_us(&at))
                .bind(by)
                .execute(&self.$writer)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() > 0)
            }

            /// One UPDATE of alert `$1` setting an instant `$2`; whether a row changed.
            async fn alert_instant(
                &self,
                sql: &'static str,
                id: i64,
                at: Option<chrono::DateTime<chrono::Utc>>,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(sql)
                    .bind(id)
                    .bind(at.as_ref().map($crate::prepare::to_us))
                    .execute(&self.$writer)
                    .await
                    .map_err(db_error)?;
                Ok(done.rows_affected() > 0)
            }

            pub async fn alerts(
                &self,
                filter: &$crate::alerts::AlertFilter,
            ) -> Result<Vec<$crate::alerts::StoredAlert>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM alerts WHERE ($1 IS NULL OR state = $1) \
                     AND ($2 IS NULL OR domain = $2) \
                     AND ($3 IS NULL OR severity = $3) \
                     AND ($4 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5",
                    $crate::alerts::ALERT_COLUMNS
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(filter.state.map(|s| s.as_str()))
                    .bind(filter.domain.as_deref())
                    .bind(filter.severity.as_deref())
                    .bind(filter.before)
                    .bind(i64::from(filter.limit))
                    .fetch_all(&self.$reader)
                    .await
                    .map_err(db_error)?;
                rows.iter().map(|row| Self::decode_alert(row)).collect()
            }

            pub async fn alert(
                &self,
                id: i64,
            ) -> Result<Option<$crate::alerts::StoredAlert>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM alerts WHERE id = $1",
                    $crate::alerts::ALERT_COLUMNS
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_optional(&self.$writer)
                    .await
                    .map_err(db_error)?;
                row.as_ref().map(|row| Self::decode_alert(row)).transpose()
            }

            /// The newest alert of `rule` for `domain`, open or resolved (cooldowns).
            pub async fn latest_alert(
                &self,
                domain: &str,
                rule: &str,
            ) -> Result<Option<$crate::alerts::StoredAlert>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM alerts WHERE domain = $1 AND rule = $2 \
                     ORDER BY id DESC LIMIT 1",
                    $crate::alerts::ALERT_COLUMNS
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(domain)
                    .bind(rule)
                    .fetch_optional(&self.$writer)
                    .await
                    .map_err(db_error)?;
                row.as_ref().map(|row| Self::decode_alert(row)).transpose()
            }

            pub async fn record_notification(
                &self,
                n: &$crate::alerts::NewNotification,
            ) -> Result<i64, $crate::StoreError> {
                sqlx::query_scalar(
                    "INSERT INTO alert_notifications (alert_id, kind, channel, attempts, \
                     created_at_us, delivered_at_us, last_error) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(n.alert_id)
                .bind(&n.kind)
                .bind(&n.channel)
                .bind(i64::from(n.attempts))
                .bind($crate::prepare::to_us(&n.created_at))
                .bind(n.delivered_at.as_ref().map($crate::prepare::to_us))
                .bind(n.last_error.as_deref())
                .fetch_one(&self.$writer)
                .await
                .map_err(db_error)
            }

            pub async fn notifications(
                &self,
                alert_id: i64,
            ) -> Result<Vec<$crate::alerts::AlertNotification>, $crate::StoreError> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT id, alert_id, kind, channel, attempts, created_at_us, \
                     delivered_at_us, last_error FROM alert_notifications \
                     WHERE alert_id = $1 ORDER BY id",
                )
                .bind(alert_id)
                .fetch_all(&self.$reader)
                .await
                .map_err(db_error)?;
                rows.iter()
                    .map(|row| {
                        let attempts: i64 = row.try_get(4).map_err(db_error)?;
                        let delivered: Option<i64> = row.try_get(6).map_err(db_error)?;
                        Ok($crate::alerts::AlertNotification {
                            id: row.try_get(0).map_err(db_error)?,
                            alert_id: row.try_get(1).map_err(db_error)?,
                            kind: row.try_get(2).map_err(db_error)?,
                            channel: row.try_get(3).map_err(db_error)?,
                            attempts: u32::try_from(attempts).map_err(|_| {
                                $crate::StoreError::corrupt(format!("attempts {attempts}"))
                            })?,
                            created_at: $crate::prepare::from_us(
                                row.try_get(5).map_err(db_error)?,
                            )?,
                            delivered_at: delivered.map($crate::prepare::from_us).transpose()?,
                            last_error: row.try_get(7).map_err(db_error)?,
                        })
                    })
                    .collect()
            }

            fn decode_alert(
                row: &<$db as sqlx::Database>::Row,
            ) -> Result<$crate::alerts::StoredAlert, $crate::StoreError> {
                use sqlx::Row;
                let instant = |i: usize| -> Result<
                    Option<chrono::DateTime<chrono::Utc>>,
                    $crate::StoreError,
                > {
                    let us: Option<i64> = row.try_get(i).map_err(db_error)?;
                    us.map($crate::prepare::from_us).transpose()
                };
                let required = |i: usize| {
                    instant(i)?
                        .ok_or_else(|| $crate::StoreError::corrupt("alert instant is NULL"))
                };
                let state: String = row.try_get(4).map_err(db_error)?;
                Ok($crate::alerts::StoredAlert {
                    id: row.try_get(0).map_err(db_error)?,
                    domain: row.try_get(1).map_err(db_error)?,
                    rule: row.try_get(2).map_err(db_error)?,
                    severity: row.try_get(3).map_err(db_error)?,
                    state: $crate::alerts::AlertState::from_stored(&state)?,
                    opened_at: required(5)?,
                    resolved_at: instant(6)?,
                    last_evaluated_at: required(7)?,
                    acknowledged_at: instant(8)?,
                    acknowledged_by: row.try_get(9).map_err(db_error)?,
                    muted_until: instant(10)?,
                    last_notified_at: instant(11)?,
                    alert: row.try_get(12).map_err(db_error)?,
                })
            }
        }
    };
}

pub(crate) use alert_methods;
