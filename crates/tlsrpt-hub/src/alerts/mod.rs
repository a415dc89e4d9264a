//! The alert engine (issue 6): evaluates the rules of `tlsrpt_analyze::alerts` against the
//! store, keeps alert state there (one open alert per domain and rule), and hands notices
//! and digests to the channels ([`NoticeSink`]).
//!
//! Nothing here reads the system clock directly: the [`Clock`] is injected, so dedupe,
//! resolve, cooldown, reminders and digest timing are tested by moving time by hand.

pub mod actions;
pub mod digest;
pub mod engine;
pub mod log;
pub mod task;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use tlsrpt_analyze::{Digest, Notice};

pub use engine::Engine;

/// "Now", for the engine.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Where notices and digests go (the notification channels). Must not block: the engine
/// runs beside ingestion, and a dead channel must never hold it up.
pub trait NoticeSink: Send + Sync {
    fn notice(&self, notice: Notice);
    /// A digest for every `[[digests]]` recipient on `schedule`.
    fn digest(&self, schedule: digest::Period, digest: Digest);
}

/// The channels (`[[channels]]`, `[[routes]]`, `[[digests]]`) deliver what the engine sends.
/// Each notice is also logged, so the log shows every alert opened or resolved even where
/// no channel is configured.
impl NoticeSink for crate::notify::Notifier {
    fn notice(&self, notice: Notice) {
        tracing::info!(
            id = notice.alert_id,
            kind = ?notice.kind,
            domain = %notice.alert.domain,
            rule = notice.alert.rule.as_str(),
            severity = notice.alert.severity.as_str(),
            "alert: {}",
            notice.alert.title
        );
        self.send(notice);
    }

    fn digest(&self, schedule: digest::Period, digest: Digest) {
        self.send_digests(schedule, &digest);
    }
}
