//! What people do with alerts (list, acknowledge, mute), shared by the API, the dashboard
//! and the CLI so all three behave the same.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tlsrpt_analyze::{Alert, Severity};
use tlsrpt_store::{AlertFilter, AlertState, Store, StoreError, StoredAlert};

use super::engine::from_json;

/// Longest page of alerts.
pub const MAX_LIMIT: u32 = 500;

/// A stored alert as people see it.
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    #[serde(flatten)]
    pub stored: StoredAlert,
    pub muted: bool,
    /// The latest evaluation (title, cause, action, evidence); `null` if unreadable.
    pub alert: Option<Alert>,
}

impl AlertView {
    pub fn new(stored: StoredAlert, now: DateTime<Utc>) -> AlertView {
        AlertView {
            muted: stored.muted_until.is_some_and(|until| now < until),
            alert: from_json(&stored),
            stored,
        }
    }

    pub fn title(&self) -> &str {
        self.alert
            .as_ref()
            .map_or("(unreadable alert)", |a| a.title.as_str())
    }
}

/// Which alerts, as the API's query and the CLI's flags give them.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `None`: open and resolved.
    pub state: Option<AlertState>,
    pub domain: Option<String>,
    pub severity: Option<Severity>,
    pub before: Option<i64>,
    pub limit: u32,
}

impl Selection {
    /// `open`, `resolved` or `all`.
    pub fn parse_state(text: &str) -> Result<Option<AlertState>, String> {
        match text {
            "open" => Ok(Some(AlertState::Open)),
            "resolved" => Ok(Some(AlertState::Resolved)),
            "all" => Ok(None),
            other => Err(format!(
                "state must be open, resolved or all, not {other:?}"
            )),
        }
    }

    pub fn parse_severity(text: &str) -> Result<Severity, String> {
        Severity::parse(text)
            .ok_or_else(|| format!("severity must be critical, high, medium or low, not {text:?}"))
    }
}

/// The selected alerts, newest first; open ones are listed most severe first.
pub async fn list(
    store: &Store,
    selection: &Selection,
    now: DateTime<Utc>,
) -> Result<Vec<AlertView>, StoreError> {
    let stored = store
        .alerts(&AlertFilter {
            state: selection.state,
            domain: selection.domain.clone(),
            severity: selection.severity.map(|s| s.as_str().to_owned()),
            before: selection.before,
            limit: selection.limit.clamp(1, MAX_LIMIT),
        })
        .await?;
    Ok(stored.into_iter().map(|s| AlertView::new(s, now)).collect())
}

/// Why an action on an alert did nothing.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("no alert {0}")]
    NotFound(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub async fn acknowledge(
    store: &Store,
    id: i64,
    by: &str,
    now: DateTime<Utc>,
) -> Result<AlertView, ActionError> {
    if !store.acknowledge_alert(id, by, now).await? {
        return Err(ActionError::NotFound(id));
    }
    reread(store, id, now).await
}

/// Mutes for `duration` from now; a zero duration unmutes.
pub async fn mute(
    store: &Store,
    id: i64,
    duration: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<AlertView, ActionError> {
    let until = (duration > chrono::Duration::zero()).then(|| now + duration);
    if !store.mute_alert(id, until).await? {
        return Err(ActionError::NotFound(id));
    }
    reread(store, id, now).await
}

async fn reread(store: &Store, id: i64, now: DateTime<Utc>) -> Result<AlertView, ActionError> {
    let stored = store.alert(id).await?.ok_or(ActionError::NotFound(id))?;
    Ok(AlertView::new(stored, now))
}

/// `30m`, `12h`, `7d`, `2w` (a number and a unit; `0d` unmutes), up to a year.
pub fn parse_duration(text: &str) -> Result<chrono::Duration, String> {
    let text = text.trim();
    let bad = || format!("{text:?} is no duration: give a number and m, h, d or w, e.g. 7d");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().map_err(|_| bad())?;
    let minutes = match unit {
        "m" => 1,
        "h" => 60,
        "d" => 24 * 60,
        "w" => 7 * 24 * 60,
        _ => return Err(bad()),
    };
    let duration = number
        .checked_mul(minutes)
        .and_then(chrono::Duration::try_minutes)
        .filter(|d| *d <= chrono::Duration::days(366))
        .ok_or_else(|| format!("{text:?} is longer than a year"))?;
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_number_and_a_unit() {
        assert_eq!(parse_duration("7d"), Ok(chrono::Duration::days(7)));
        assert_eq!(parse_duration("90m"), Ok(chrono::Duration::minutes(90)));
        assert_eq!(parse_duration("2w"), Ok(chrono::Duration::weeks(2)));
        assert_eq!(parse_duration("0d"), Ok(chrono::Duration::zero()));
        for bad in ["7", "d", "7 days", "-1d", "400d", ""] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
