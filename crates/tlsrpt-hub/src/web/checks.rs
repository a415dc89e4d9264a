//! The latest daily domain check ([`crate::check::daily`]) as the domain page and
//! `/api/v1/domains/{domain}/checks` show it.
//!
//! The store keeps a run's findings as the JSON `check --format json` prints. They are read
//! back with strings rather than the checker's enums, so runs stored by an older or newer
//! version (a renamed or added check) still show. Every text in them came from DNS or a
//! policy file: attacker-controlled, rendered only through askama's escaping and serde.

use serde::{Deserialize, Serialize};
use tlsrpt_core::report::format_utc;
use tlsrpt_store::{DomainCheck, Store};

use super::WebError;

/// One finding of a stored run.
#[derive(Debug, Serialize, Deserialize)]
pub struct CheckFinding {
    /// Stable check name, e.g. `tlsrpt-record`, `sts-policy`, `mx-sync`.
    pub check: String,
    /// `pass`, `warn` or `fail`.
    pub status: String,
    /// The DNS name, URL or MX host looked at.
    pub subject: String,
    pub message: String,
    /// What to publish or change; absent on a pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// What changed since the previous run of the same domain (the alert rules' input).
#[derive(Debug, Serialize)]
pub struct CheckChange {
    /// e.g. `tlsrpt-record-removed`, `sts-policy-id-changed`, `mx-out-of-sync`.
    pub kind: String,
    pub detail: String,
}

/// The most recent run.
#[derive(Debug, Serialize)]
pub struct LatestCheck {
    /// When the run finished, RFC 3339 UTC.
    pub checked_at: String,
    /// The worst finding: `pass`, `warn` or `fail`.
    pub status: String,
    pub findings: Vec<CheckFinding>,
    pub changes: Vec<CheckChange>,
}

/// `GET /api/v1/domains/{domain}/checks`.
#[derive(Debug, Serialize)]
pub struct DomainChecks {
    pub domain: String,
    /// `null` until `serve` has checked the domain (only configured domains are checked).
    pub latest: Option<LatestCheck>,
}

/// The latest stored run for `domain` (normalised like the report pages' domain names).
pub async fn latest(store: &Store, domain: &str) -> Result<DomainChecks, WebError> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let latest = match store.latest_domain_check(&domain).await? {
        Some(stored) => Some(view(stored)?),
        None => None,
    };
    Ok(DomainChecks { domain, latest })
}

fn view(stored: DomainCheck) -> Result<LatestCheck, WebError> {
    let findings = serde_json::from_str(&stored.findings).map_err(|error| {
        WebError::Internal(format!(
            "stored check {} of {} has unreadable findings: {error}",
            stored.id, stored.domain
        ))
    })?;
    Ok(LatestCheck {
        checked_at: format_utc(&stored.checked_at),
        status: stored.status,
        findings,
        changes: stored
            .changes
            .into_iter()
            .map(|c| CheckChange {
                kind: c.kind,
                detail: c.detail,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored form is what `check --format json` prints: the checker's own
    /// serialisation must read back into this view.
    #[test]
    fn the_checkers_findings_read_back() {
        use crate::check::finding::{Check, Finding};
        let findings = vec![
            Finding::pass(Check::TlsrptRecord, "_smtp._tls.example.com", "one record"),
            Finding::warn(
                Check::TlsrptRecord,
                "_smtp._tls.example.com",
                "space after comma",
                "remove the space",
            ),
        ];
        let stored = DomainCheck {
            id: 1,
            domain: "example.com".to_owned(),
            checked_at: chrono::Utc::now(),
            status: "warn".to_owned(),
            snapshot: "{}".to_owned(),
            findings: serde_json::to_string(&findings).unwrap(),
            changes: vec![],
        };
        let view = view(stored).unwrap();
        assert_eq!(view.findings.len(), 2);
        assert_eq!(view.findings[0].check, "tlsrpt-record");
        assert_eq!(view.findings[0].fix, None);
        assert_eq!(view.findings[1].status, "warn");
        assert_eq!(view.findings[1].fix.as_deref(), Some("remove the space"));
    }
}
