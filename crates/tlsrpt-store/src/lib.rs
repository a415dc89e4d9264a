//! Durable storage of TLS-RPT submissions and reports behind one API, [`Store`].
//!
//! Callers never see the backend: [`Store::open`] picks it from the URL (a plain path or
//! `sqlite://path` today, `postgres://` later) and every method dispatches on it. Each backend
//! keeps its own migrations under `migrations/<backend>/`.
//!
//! Guarantees every backend keeps:
//! * A write returns only after it is durable (SQLite: WAL with `synchronous=FULL`), because
//!   receivers acknowledge a report (HTTP 2xx, SMTP 250) only after the store said so.
//! * A report is stored whole or not at all; a batch is one transaction (group commit).
//! * A report whose `dedup_key` is already stored is not stored again; the stored one's
//!   `duplicate_count` and `last_duplicate_at` record the receipt instead.
//! * Daily rollups always equal a recomputation from the detail rows
//!   ([`Store::check_integrity`] verifies it).
//!
//! Storage units: instants are unix microseconds (UTC), days are the UTC day of
//! `range_start`, counts are signed 64-bit (u64 above i64::MAX is rejected, never clamped).

mod alerts;
mod copy;
mod dashboard;
mod decode;
mod error;
mod group;
mod import;
mod migrations;
mod model;
mod postgres;
mod prepare;
mod query;
mod raw;
mod session;
mod sqlite;

use chrono::{DateTime, NaiveDate, Utc};

pub use alerts::{
    AlertFilter, AlertNotification, AlertState, NewAlert, NewNotification, StoredAlert,
};
pub use copy::CopyProgress;
pub use dashboard::{
    DomainDay, ExportFilter, FailureGroup, FailureRow, FailureSpan, PolicyContext, PolicyRow,
    PolicySeen, Provenance, ReportContext, ReportFilter, ReportListing,
};
pub use error::StoreError;
pub use import::Import;
pub use model::{
    AuthResult, Authentication, CheckChange, DailyFailureRollup, DailyPolicyRollup, DomainCheck,
    NewDomainCheck, NewReport, NewSubmission, Origin, Pruned, ReportId, ReportOutcome,
    RollupFilter, StoreCounts, StoredReport, StoredSubmission, SubmissionId, SubmissionOutcome,
};
pub use prepare::PreparedSubmission;
pub use raw::{RawBlob, RawEncoding};
pub use session::{NewWebSession, WebSession};

/// The storage layer: one handle, cheap to share behind an `Arc`, safe to use from many tasks.
/// Writes are serialised internally; reads run concurrently with them.
#[derive(Debug)]
pub struct Store {
    backend: Backend,
    group: group::GroupCommit,
}

/// One variant per backend; adding PostgreSQL adds a variant and a match arm per method,
/// and no caller changes. Cheap to clone (connection pools are shared handles).
#[derive(Debug, Clone)]
enum Backend {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

impl Backend {
    /// Every row of a shared read query (`query`), decoded.
    async fn fetch_all<T: query::FromColumns>(
        &self,
        statement: &query::Statement<'_>,
    ) -> Result<Vec<T>, StoreError> {
        match self {
            Backend::Sqlite(s) => s.fetch_all(statement).await,
            Backend::Postgres(s) => s.fetch_all(statement).await,
        }
    }

    fn open_days(&self) -> &'static query::OpenDays {
        match self {
            Backend::Sqlite(_) => &query::SQLITE_OPEN_DAYS,
            Backend::Postgres(_) => &query::POSTGRES_OPEN_DAYS,
        }
    }

    /// Stores `submissions` in one transaction; one outcome each, in order.
    async fn ingest(
        &self,
        submissions: &[PreparedSubmission],
    ) -> Result<Vec<SubmissionOutcome>, StoreError> {
        match self {
            Backend::Sqlite(s) => s.ingest(submissions).await,
            Backend::Postgres(s) => s.ingest(submissions).await,
        }
    }
}

impl Store {
    /// Opens (creating if missing) the database at `url` and brings its schema up to date.
    ///
    /// Accepts a plain file path, `sqlite://path` or `sqlite:path`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let backend = if let Some(path) = sqlite_path(url) {
            Backend::Sqlite(sqlite::SqliteStore::open(path).await?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres(postgres::PgStore::open(url).await?)
        } else {
            return Err(StoreError::UnsupportedUrl {
                url: postgres::redact(url),
                reason: "expected a SQLite path (or sqlite://path) or a postgres:// URL".into(),
            });
        };
        Ok(Store {
            backend,
            group: group::GroupCommit::default(),
        })
    }

    /// Stores one submission; see [`Store::insert_batch`]. Concurrent calls share
    /// transactions (group commit), so many receivers' single reports cost one durable
    /// flush per group rather than one each.
    pub async fn insert(&self, submission: NewSubmission) -> Result<SubmissionOutcome, StoreError> {
        let prepared = submission.prepare()?;
        self.group.insert(&self.backend, prepared).await
    }

    /// Prepares each submission ([`NewSubmission::prepare`]) and stores the valid ones with
    /// [`Store::insert_prepared`].
    ///
    /// The outer error means nothing was written (database unavailable, ...). An inner error
    /// refuses that submission alone (a value that cannot be stored), so one bad input never
    /// fails the batch it was grouped with, and nothing of it is written.
    pub async fn insert_batch(
        &self,
        submissions: Vec<NewSubmission>,
    ) -> Result<Vec<Result<SubmissionOutcome, StoreError>>, StoreError> {
        let mut refused = Vec::with_capacity(submissions.len());
        let mut valid = Vec::with_capacity(submissions.len());
        for submission in submissions {
            match submission.prepare() {
                Ok(prepared) => {
                    valid.push(prepared);
                    refused.push(None);
                }
                Err(error) => refused.push(Some(error)),
            }
        }
        let mut outcomes = self.insert_prepared(valid).await?.into_iter();
        Ok(refused
            .into_iter()
            .map(|error| match error {
                Some(error) => Err(error),
                None => Ok(outcomes
                    .next()
                    .expect("one outcome per prepared submission")),
            })
            .collect())
    }

    /// Stores many prepared submissions in one transaction (group commit: one durable flush
    /// for all), returning one outcome per submission, in order.
    ///
    /// Duplicates, whether already stored or repeated inside the batch, are counted on the
    /// stored report instead of being stored again; a submission none of whose reports is new
    /// stores no raw bytes. On error nothing of the batch was written.
    pub async fn insert_prepared(
        &self,
        submissions: Vec<PreparedSubmission>,
    ) -> Result<Vec<SubmissionOutcome>, StoreError> {
        let mut import = self.import();
        let outcomes = import.add(submissions).await?;
        import.commit().await?;
        Ok(outcomes)
    }

    /// Replaces the reports of one stored submission (after re-parsing its raw bytes), in one
    /// transaction, keeping rollups exact.
    ///
    /// New reports are de-duplicated against other submissions' reports; for reprocessing to
    /// be repeatable, this neither counts them as new receipts nor changes other reports'
    /// duplicate counts. A new report with the same `dedup_key` as a replaced one inherits
    /// its duplicate count. The raw bytes stay even if no report remains.
    pub async fn replace_reports(
        &self,
        submission_id: SubmissionId,
        reports: Vec<NewReport>,
    ) -> Result<Vec<ReportOutcome>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.replace_reports(submission_id, reports).await,
            Backend::Postgres(s) => s.replace_reports(submission_id, reports).await,
        }
    }

    /// Up to `limit` stored submissions with id greater than `after`, in id order, with their
    /// raw bytes decompressed and verified. Page with the last id returned.
    pub async fn submissions(
        &self,
        after: Option<SubmissionId>,
        limit: u32,
    ) -> Result<Vec<StoredSubmission>, StoreError> {
        let page = self
            .backend
            .fetch_all(&query::submissions(after, limit))
            .await?;
        decode::decompress(page).await
    }

    pub async fn report_by_dedup_key(
        &self,
        dedup_key: &str,
    ) -> Result<Option<StoredReport>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.report_by_dedup_key(dedup_key).await,
            Backend::Postgres(s) => s.report_by_dedup_key(dedup_key).await,
        }
    }

    pub async fn counts(&self) -> Result<StoreCounts, StoreError> {
        let mut counts = self.backend.fetch_all(&query::counts()).await?;
        counts
            .pop()
            .ok_or_else(|| StoreError::corrupt("counting rows returned no row"))
    }

    /// Daily policy rollups matching `filter`, ordered by day, policy domain, organization,
    /// policy type.
    pub async fn daily_policy_rollups(
        &self,
        filter: &RollupFilter,
    ) -> Result<Vec<DailyPolicyRollup>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.daily_policy_rollups(filter).await,
            Backend::Postgres(s) => s.daily_policy_rollups(filter).await,
        }
    }

    /// Daily failure rollups matching `filter`, ordered like
    /// [`Store::daily_policy_rollups`] then by result type.
    pub async fn daily_failure_rollups(
        &self,
        filter: &RollupFilter,
    ) -> Result<Vec<DailyFailureRollup>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.daily_failure_rollups(filter).await,
            Backend::Postgres(s) => s.daily_failure_rollups(filter).await,
        }
    }

    /// Sessions per policy domain and day in `from..=to`, all reporters and policy types
    /// summed: the domain list (overview) in one pass over the rollups.
    pub async fn domain_days(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DomainDay>, StoreError> {
        let days = query::DayRange::closed(from, to);
        self.backend.fetch_all(&query::domain_days(&days)).await
    }

    /// Distinct policies (type, policy-string, mx-host) each reporter saw for one policy
    /// domain in `from..=to`, ordered by first day.
    pub async fn policies_seen(
        &self,
        policy_domain: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<PolicySeen>, StoreError> {
        let days = query::DayRange::closed(from, to);
        self.backend
            .fetch_all(&query::policies_seen(policy_domain, &days))
            .await
    }

    /// Failure details of one policy domain in `from..=to`, grouped by result type, policy
    /// type, reporter, receiving MX and sending IP; most failed sessions first.
    pub async fn failure_groups(
        &self,
        policy_domain: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<FailureGroup>, StoreError> {
        let days = query::DayRange::closed(from, to);
        self.backend
            .fetch_all(&query::failure_groups(policy_domain, &days))
            .await
    }

    /// First and last day of each result type ever reported for one policy domain.
    pub async fn failure_spans(&self, policy_domain: &str) -> Result<Vec<FailureSpan>, StoreError> {
        self.backend
            .fetch_all(&query::failure_spans(policy_domain))
            .await
    }

    /// One page of the report list, newest (highest id) first.
    pub async fn reports(&self, filter: &ReportFilter) -> Result<Vec<ReportListing>, StoreError> {
        let days = query::DayRange::open(filter.from, filter.to, self.backend.open_days());
        let mut listings: Vec<ReportListing> = self
            .backend
            .fetch_all(&query::reports(filter, &days))
            .await?;
        if let Some(statement) = query::policy_domains(&listings) {
            let domains = self.backend.fetch_all(&statement).await?;
            query::attach_policy_domains(&mut listings, domains);
        }
        Ok(listings)
    }

    /// One stored report with where it came from.
    pub async fn report_by_id(
        &self,
        id: ReportId,
    ) -> Result<Option<(StoredReport, Provenance)>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.report_by_id(id).await,
            Backend::Postgres(s) => s.report_by_id(id).await,
        }
    }

    /// One page of policies flattened with their report, in policy id order.
    pub async fn export_policies(
        &self,
        filter: &ExportFilter,
    ) -> Result<Vec<PolicyRow>, StoreError> {
        let days = query::DayRange::open(filter.from, filter.to, self.backend.open_days());
        self.backend
            .fetch_all(&query::export_policies(filter, &days))
            .await
    }

    /// One page of failure details flattened with their report and policy, in id order.
    pub async fn export_failures(
        &self,
        filter: &ExportFilter,
    ) -> Result<Vec<FailureRow>, StoreError> {
        let days = query::DayRange::open(filter.from, filter.to, self.backend.open_days());
        self.backend
            .fetch_all(&query::export_failures(filter, &days))
            .await
    }

    /// Recomputes both rollup tables from the detail rows, in one transaction.
    pub async fn rebuild_rollups(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.rebuild_rollups().await,
            Backend::Postgres(s) => s.rebuild_rollups().await,
        }
    }

    /// Checks the database's own consistency, then that the rollups equal a recomputation;
    /// the error names the first difference found.
    pub async fn check_integrity(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.check_integrity().await,
            Backend::Postgres(s) => s.check_integrity().await,
        }
    }

    /// Retention: removes the reports whose `range_day` is before `before` (their policies,
    /// failure details, diagnostics and rollup rows with them), then the raw submissions
    /// received before `before` that no report refers to any more. Rollups keep equalling a
    /// recomputation throughout.
    ///
    /// SQLite deletes exactly those days, one day per transaction. PostgreSQL drops whole
    /// monthly partitions, so it removes a month only once all of it is before `before`
    /// (keeping up to a month more, never less).
    pub async fn prune(&self, before: NaiveDate) -> Result<Pruned, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.prune(before).await,
            Backend::Postgres(s) => s.prune(before).await,
        }
    }

    /// Stores one run of a domain's checks with its changes; returns its id.
    pub async fn insert_domain_check(&self, check: &NewDomainCheck) -> Result<i64, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.insert_domain_check(check).await,
            Backend::Postgres(s) => s.insert_domain_check(check).await,
        }
    }

    /// The most recent run for `domain`, with its changes.
    pub async fn latest_domain_check(
        &self,
        domain: &str,
    ) -> Result<Option<DomainCheck>, StoreError> {
        let latest: Vec<DomainCheck> = self.backend.fetch_all(&query::latest_check(domain)).await?;
        let Some(mut check) = latest.into_iter().next() else {
            return Ok(None);
        };
        check.changes = self
            .backend
            .fetch_all(&query::check_changes(check.id))
            .await?;
        Ok(Some(check))
    }

    /// Stores a dashboard login session (only its token's hash) and deletes expired ones.
    pub async fn create_web_session(&self, session: &NewWebSession) -> Result<(), StoreError> {
        let now = prepare::to_us(&now());
        match &self.backend {
            Backend::Sqlite(s) => s.create_web_session(session, now).await,
            Backend::Postgres(s) => s.create_web_session(session, now).await,
        }
    }

    /// The unexpired session named by `token`, whichever process created it.
    pub async fn web_session(&self, token: &str) -> Result<Option<WebSession>, StoreError> {
        let now = prepare::to_us(&now());
        match &self.backend {
            Backend::Sqlite(s) => s.web_session(token, now).await,
            Backend::Postgres(s) => s.web_session(token, now).await,
        }
    }

    /// Ends the session named by `token` (logout); false when there was none.
    pub async fn delete_web_session(&self, token: &str) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.delete_web_session(token).await,
            Backend::Postgres(s) => s.delete_web_session(token).await,
        }
    }

    /// Opens an alert; `None` when one of the same domain and rule is already open (the
    /// database allows one open alert per domain and rule).
    pub async fn open_alert(&self, new: &NewAlert) -> Result<Option<i64>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.open_alert(new).await,
            Backend::Postgres(s) => s.open_alert(new).await,
        }
    }

    /// Replaces an open alert's severity and evidence with the latest evaluation's; `false`
    /// when it is no longer open.
    pub async fn refresh_alert(
        &self,
        id: i64,
        severity: &str,
        alert: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.refresh_alert(id, severity, alert, at).await,
            Backend::Postgres(s) => s.refresh_alert(id, severity, alert, at).await,
        }
    }

    /// Marks an open alert resolved at `at`; `false` when it was not open.
    pub async fn resolve_alert(&self, id: i64, at: DateTime<Utc>) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.resolve_alert(id, at).await,
            Backend::Postgres(s) => s.resolve_alert(id, at).await,
        }
    }

    /// Records that channels were told about the alert at `at`.
    pub async fn alert_notified(&self, id: i64, at: DateTime<Utc>) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.alert_notified(id, at).await,
            Backend::Postgres(s) => s.alert_notified(id, at).await,
        }
    }

    /// Records who acknowledged the alert; `false` when there is no such alert.
    pub async fn acknowledge_alert(
        &self,
        id: i64,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.acknowledge_alert(id, by, at).await,
            Backend::Postgres(s) => s.acknowledge_alert(id, by, at).await,
        }
    }

    /// Mutes the alert until `until` (`None` unmutes); `false` when there is no such alert.
    pub async fn mute_alert(
        &self,
        id: i64,
        until: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.mute_alert(id, until).await,
            Backend::Postgres(s) => s.mute_alert(id, until).await,
        }
    }

    /// Alerts matching `filter`, newest first.
    pub async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<StoredAlert>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.alerts(filter).await,
            Backend::Postgres(s) => s.alerts(filter).await,
        }
    }

    pub async fn alert(&self, id: i64) -> Result<Option<StoredAlert>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.alert(id).await,
            Backend::Postgres(s) => s.alert(id).await,
        }
    }

    /// The newest alert of `rule` for `domain`, open or resolved (for cooldowns).
    pub async fn latest_alert(
        &self,
        domain: &str,
        rule: &str,
    ) -> Result<Option<StoredAlert>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.latest_alert(domain, rule).await,
            Backend::Postgres(s) => s.latest_alert(domain, rule).await,
        }
    }

    /// Logs one notice's delivery (or failure) to one channel.
    pub async fn record_notification(
        &self,
        notification: &NewNotification,
    ) -> Result<i64, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.record_notification(notification).await,
            Backend::Postgres(s) => s.record_notification(notification).await,
        }
    }

    /// An alert's notification log, oldest first.
    pub async fn notifications(&self, alert_id: i64) -> Result<Vec<AlertNotification>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.notifications(alert_id).await,
            Backend::Postgres(s) => s.notifications(alert_id).await,
        }
    }

    /// Flushes and closes: afterwards the database is one self-contained file.
    pub async fn close(self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite(s) => s.close().await,
            Backend::Postgres(s) => s.close().await,
        }
    }
}

/// `url` with any password replaced by `***`, for logs and messages.
pub fn redacted_url(url: &str) -> String {
    postgres::redact(url)
}

/// The file path in a SQLite URL, or a plain path; `None` for other schemes.
fn sqlite_path(url: &str) -> Option<&str> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        Some(path)
    } else if let Some(path) = url.strip_prefix("sqlite:") {
        Some(path)
    } else if url.contains("://") {
        None
    } else {
        Some(url)
    }
}

/// The clock, in one place so stored timestamps share a source.
fn now() -> DateTime<Utc> {
    Utc::now()
}
