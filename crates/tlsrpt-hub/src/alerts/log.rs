//! The notification log: every notice's final delivery outcome per channel, recorded in the
//! store (`alert_notifications`) for the alert's history.

use std::future::Future;
use std::pin::Pin;
use std::sync::Weak;

use tlsrpt_analyze::NoticeKind;
use tlsrpt_store::{NewNotification, Store};

use crate::notify::{AttemptOutcome, DeliveryAttempt, DeliveryLog, Subject};

/// Holds the store weakly: queued deliveries must never keep `serve` from closing it.
pub struct StoreLog(pub Weak<Store>);

impl DeliveryLog for StoreLog {
    fn record<'a>(
        &'a self,
        attempt: DeliveryAttempt,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            let Some(row) = notification(&attempt) else {
                return;
            };
            let Some(store) = self.0.upgrade() else {
                return;
            };
            if let Err(error) = store.record_notification(&row).await {
                tracing::warn!(channel = %attempt.channel, "notification not logged: {error}");
            }
        })
    }
}

/// The row for an attempt that ends a notice's delivery to a channel (delivered, given up,
/// dropped); `None` for a failure that will be retried, and for digests and test notices,
/// which belong to no stored alert.
fn notification(attempt: &DeliveryAttempt) -> Option<NewNotification> {
    let Subject::Notice { alert_id, kind } = attempt.subject else {
        return None;
    };
    let kind = match kind {
        NoticeKind::Opened => "opened",
        NoticeKind::Resolved => "resolved",
        NoticeKind::Test => return None,
    };
    let (delivered_at, last_error) = match &attempt.outcome {
        AttemptOutcome::Delivered => (Some(attempt.at), None),
        AttemptOutcome::Failed {
            will_retry: true, ..
        } => return None,
        AttemptOutcome::Failed { error, .. } => (None, Some(error.clone())),
        AttemptOutcome::Dropped => (None, Some("dropped from a full queue".to_owned())),
    };
    Some(NewNotification {
        alert_id,
        kind: kind.to_owned(),
        channel: attempt.channel.clone(),
        attempts: attempt.attempt,
        created_at: attempt.at,
        delivered_at,
        last_error,
    })
}
