//! The receivers' shared path (ARCHITECTURE: Submission → Outcome): verify DKIM on mail,
//! prepare on a worker thread, check the policy domains, judge the sender's authentication,
//! store, and say what happened in protocol-neutral terms.
//! Each receiver only translates an [`Outcome`] into its own answer (HTTP status, SMTP reply).

use std::sync::Arc;
use std::time::Instant;

use tlsrpt_core::extract::{ExtractErrorKind, Limits};
use tlsrpt_core::report::ParseErrorKind;
use tlsrpt_store::{
    AuthResult, Authentication, NewSubmission, Origin, ReportId, ReportOutcome, Store, StoreError,
};

use super::domains::{DomainCheck, Domains};
use crate::auth::dkim::{DkimPolicy, DkimVerdict, DkimVerifier};
use crate::config::Config;
use crate::ingest::Submission;
use crate::metrics::{Metrics, SubmissionOutcome};
use crate::pipeline::{self, Rejection};

#[derive(Debug)]
pub struct Intake {
    store: Arc<Store>,
    limits: Limits,
    domains: Domains,
    metrics: Arc<Metrics>,
    dkim: Dkim,
    /// Policy domains of newly stored reports go to the alert engine (never waited for).
    touched: Option<tokio::sync::mpsc::Sender<String>>,
}

/// DKIM checking of mailed reports (RFC 8460 §3), per config.
#[derive(Debug)]
pub struct Dkim {
    policy: DkimPolicy,
    /// `Err` when no resolver could be set up: mail then waits (temporary failure) under
    /// `require`, and is flagged unverified under `flag`.
    verifier: Result<DkimVerifier, String>,
}

impl Dkim {
    pub fn new(policy: DkimPolicy, verifier: Result<DkimVerifier, String>) -> Self {
        Dkim { policy, verifier }
    }

    /// Verifies the submission's signatures if it came by mail and checking is on.
    async fn verify(&self, submission: &Submission) -> Option<Result<DkimVerdict, String>> {
        let mailed = matches!(
            submission.origin,
            Origin::Smtp | Origin::Lmtp | Origin::Imap | Origin::Pipe
        );
        if !mailed || self.policy == DkimPolicy::Off {
            return None;
        }
        Some(match &self.verifier {
            Ok(verifier) => Ok(verifier.verify(&submission.raw).await),
            Err(error) => Err(error.clone()),
        })
    }
}

/// What became of one submission.
#[derive(Debug)]
pub enum Outcome {
    /// Durably committed: at least one report was new.
    Stored {
        stored: Vec<ReportId>,
        duplicates: Vec<ReportId>,
        /// Parts of the submission that were not readable (the readable ones were stored).
        unreadable: Vec<String>,
    },
    /// Every report was already stored; receipt counted, nothing new (idempotent re-send).
    Duplicate { existing: Vec<ReportId> },
    /// Permanently refused: resending the same bytes will not help.
    Refused(Refusal),
    /// The store cannot take it now; the sender should retry later (RFC 8460 §5.5: senders
    /// retry for up to 24 hours).
    Unavailable(String),
    /// Our fault (corrupt database, a bug), not the sender's.
    Failed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// Bigger than a limit (body or decompressed size).
    TooLarge,
    /// Not a report at all: empty, unknown content, JSON that is no report.
    NotAReport,
    /// A report, but damaged or invalid (bad gzip, bad JSON, an unusable field).
    Unreadable,
    /// About a policy domain this hub does not collect for.
    DomainNotServed,
    /// Mail without a valid DKIM signature by the submitter, under `dkim = "require"`.
    Unauthenticated,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub reason: String,
}

impl RefusalKind {
    /// The `reason` label of the rejection metric.
    pub fn as_label(self) -> &'static str {
        match self {
            RefusalKind::TooLarge => "too_large",
            RefusalKind::NotAReport => "not_a_report",
            RefusalKind::Unreadable => "unreadable",
            RefusalKind::DomainNotServed => "domain_not_served",
            RefusalKind::Unauthenticated => "unauthenticated",
        }
    }
}

impl Refusal {
    pub fn new(kind: RefusalKind, reason: impl Into<String>) -> Self {
        Refusal {
            kind,
            reason: reason.into(),
        }
    }
}

impl Intake {
    pub fn new(store: Arc<Store>, limits: Limits, domains: Domains, dkim: Dkim) -> Self {
        Intake {
            store,
            limits,
            domains,
            metrics: Arc::new(Metrics::new()),
            dkim,
            touched: None,
        }
    }

    /// Tells the alert engine about every domain a newly stored report covers.
    pub fn with_alerts(mut self, touched: tokio::sync::mpsc::Sender<String>) -> Self {
        self.touched = Some(touched);
        self
    }

    /// Never blocks nor fails ingestion: a full channel drops the name (the engine's
    /// scheduled run evaluates every domain anyway).
    fn touch(&self, domains: std::collections::BTreeSet<String>) {
        let Some(touched) = &self.touched else {
            return;
        };
        for domain in domains {
            if touched.try_send(domain).is_err() {
                tracing::debug!("alert engine busy: domain left for its scheduled run");
            }
        }
    }

    /// The intake for the configured domains and limits, shared by `serve` and
    /// `ingest-mail`. Warns when the configuration refuses every report, the one mistake
    /// that silently turns a receiver into a black hole.
    pub fn for_config(store: Arc<Store>, config: &Config) -> Self {
        let domains = Domains::from_config(config);
        if domains.refuses_everything() {
            tracing::warn!(
                "no [[domains]] configured and unknown_domains = \"reject\": every report will be refused"
            );
        }
        let verifier = match config.dkim {
            DkimPolicy::Off => Err("DKIM checking is off".to_owned()),
            _ => DkimVerifier::new(&config.dkim_nameservers),
        };
        if let (DkimPolicy::Require | DkimPolicy::Flag, Err(error)) = (config.dkim, &verifier) {
            tracing::error!("{error}: mailed reports cannot be authenticated");
        }
        Intake::new(
            store,
            config.limits,
            domains,
            Dkim::new(config.dkim, verifier),
        )
    }

    /// The store, for readers served beside the receivers (dashboard, API).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn domains(&self) -> &Domains {
        &self.domains
    }

    /// Every receiver's counters (the one path every submission takes is the place to count).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Reads and stores `submission`; `bound` is the one domain it must be about (token URL).
    pub async fn take(&self, submission: Submission, bound: Option<&str>) -> Outcome {
        let started = Instant::now();
        let (origin, bytes) = (submission.origin, submission.raw.len());
        let outcome = self.take_uncounted(submission, bound).await;
        let counted = match &outcome {
            Outcome::Stored { .. } => SubmissionOutcome::Stored,
            Outcome::Duplicate { .. } => SubmissionOutcome::Duplicate,
            Outcome::Refused(refusal) => SubmissionOutcome::Refused(refusal.kind.as_label()),
            Outcome::Unavailable(_) => SubmissionOutcome::Unavailable,
            Outcome::Failed(_) => SubmissionOutcome::Failed,
        };
        self.metrics
            .submission(origin, counted, bytes, started.elapsed());
        outcome
    }

    async fn take_uncounted(&self, submission: Submission, bound: Option<&str>) -> Outcome {
        let origin = submission.origin;
        let dkim = self.dkim.verify(&submission).await;
        let limits = self.limits;
        let prepared =
            match tokio::task::spawn_blocking(move || pipeline::prepare(submission, &limits)).await
            {
                Ok(prepared) => prepared,
                Err(error) => return Outcome::Failed(format!("parsing task failed: {error}")),
            };
        let Some(mut new) = prepared.new else {
            return Outcome::Refused(match prepared.rejections.first() {
                Some(rejection) => refusal(rejection),
                None => Refusal::new(RefusalKind::NotAReport, "no report found"),
            });
        };
        for report in &new.reports {
            match self
                .domains
                .check(&report.parsed.report.policy_domains(), bound)
            {
                DomainCheck::Served => {}
                DomainCheck::Quarantine(reason) => {
                    tracing::info!(%reason, "quarantined");
                    new.quarantined = true;
                }
                DomainCheck::Refuse(reason) => {
                    return Outcome::Refused(Refusal::new(RefusalKind::DomainNotServed, reason));
                }
            }
        }
        new.authentication = match authenticate(origin, dkim, &new, self.dkim.policy) {
            Ok(authentication) => authentication,
            Err(refused) => return refused,
        };
        let domains: std::collections::BTreeSet<String> = new
            .reports
            .iter()
            .flat_map(|r| r.parsed.report.policy_domains())
            .map(str::to_owned)
            .collect();
        match self.store.insert(new).await {
            Ok(outcome) => {
                let unreadable = prepared.rejections.iter().map(ToString::to_string);
                let outcome = stored(&outcome.reports, unreadable.collect());
                if matches!(outcome, Outcome::Stored { .. }) {
                    self.touch(domains);
                }
                outcome
            }
            Err(error) => error.into(),
        }
    }
}

/// The submission's verdict (RFC 8460 §3), or why `require` refuses it: `Unavailable` when
/// the keys could not be fetched now (the sender retries), `Refused` otherwise.
fn authenticate(
    origin: Origin,
    dkim: Option<Result<DkimVerdict, String>>,
    new: &NewSubmission,
    policy: DkimPolicy,
) -> Result<Authentication, Outcome> {
    let verdict = match dkim {
        None if origin == Origin::Http => {
            return Ok(Authentication::bare(AuthResult::UnauthenticatedHttps));
        }
        None => return Ok(Authentication::bare(AuthResult::NotChecked)),
        Some(Err(error)) if policy == DkimPolicy::Require => {
            return Err(Outcome::Unavailable(error));
        }
        Some(Err(error)) => {
            return Ok(Authentication {
                result: AuthResult::Fail,
                domain: None,
                reason: Some(error),
            });
        }
        Some(Ok(verdict)) => verdict,
    };
    // Every report of the message must be vouched for by its own submitter (§5.3: the
    // TLS-Report-Submitter header, which must match the contact-info domain).
    let mut judged = None;
    for report in &new.reports {
        let contact = report.parsed.report.contact_domain();
        let header = report
            .message
            .as_ref()
            .and_then(|m| m.tls_report_submitter.as_deref());
        let submitters: Vec<&str> = header.into_iter().chain(contact.as_deref()).collect();
        let authentication = verdict.authentication(&submitters);
        if policy == DkimPolicy::Require && authentication.result != AuthResult::Pass {
            let reason = authentication.reason.unwrap_or_default();
            return Err(if verdict.is_temporary(&submitters) {
                Outcome::Unavailable(format!("DKIM: {reason}"))
            } else {
                Outcome::Refused(Refusal::new(
                    RefusalKind::Unauthenticated,
                    format!("DKIM: {reason}"),
                ))
            });
        }
        if judged
            .as_ref()
            .is_none_or(|j: &Authentication| j.result == AuthResult::Pass)
        {
            judged = Some(authentication);
        }
    }
    Ok(judged.unwrap_or_else(|| verdict.authentication(&[])))
}

fn stored(reports: &[ReportOutcome], unreadable: Vec<String>) -> Outcome {
    let mut stored = Vec::new();
    let mut duplicates = Vec::new();
    for report in reports {
        match *report {
            ReportOutcome::Stored { id } => stored.push(id),
            ReportOutcome::Duplicate { existing_id } => duplicates.push(existing_id),
        }
    }
    if stored.is_empty() {
        Outcome::Duplicate {
            existing: duplicates,
        }
    } else {
        Outcome::Stored {
            stored,
            duplicates,
            unreadable,
        }
    }
}

/// A store error as the sender should see it: also used for a store that fails to open,
/// which a front end started per message (`ingest-mail`) meets before [`Intake::take`].
impl From<StoreError> for Outcome {
    fn from(error: StoreError) -> Self {
        match error {
            error if error.is_temporary() => Outcome::Unavailable(error.to_string()),
            error @ StoreError::InvalidValue { .. } => {
                Outcome::Refused(Refusal::new(RefusalKind::Unreadable, error.to_string()))
            }
            error => Outcome::Failed(error.to_string()),
        }
    }
}

/// Classifies why nothing in a submission was readable (SPEC §4: caps → too large).
fn refusal(rejection: &Rejection) -> Refusal {
    let kind = match rejection {
        Rejection::Extract(error) => match error.kind {
            ExtractErrorKind::TooLarge { .. } => RefusalKind::TooLarge,
            ExtractErrorKind::Empty
            | ExtractErrorKind::UnrecognisedContent
            | ExtractErrorKind::NoReportInMessage
            | ExtractErrorKind::NoReportInZip => RefusalKind::NotAReport,
            ExtractErrorKind::BadGzip(_)
            | ExtractErrorKind::BadZip(_)
            | ExtractErrorKind::BadMessage
            | ExtractErrorKind::TooDeep(_) => RefusalKind::Unreadable,
        },
        Rejection::Report(part) => match part.error.kind {
            ParseErrorKind::NotAReport => RefusalKind::NotAReport,
            ParseErrorKind::NotJson | ParseErrorKind::Invalid => RefusalKind::Unreadable,
        },
    };
    Refusal::new(kind, rejection.to_string())
}
