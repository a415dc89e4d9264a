//! Query-string parameters shared by the API and the pages.

use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use tlsrpt_analyze::{DEFAULT_DAYS, Window};
use tlsrpt_store::{AuthResult, ExportFilter, ReportFilter, ReportId};

use super::WebError;

/// The longest window a request may ask for: a year of daily points.
pub const MAX_DAYS: u32 = 366;

/// `?days=N&to=YYYY-MM-DD`: the window ending `to` (default today, UTC).
#[derive(Debug, Default, Deserialize)]
pub struct WindowParams {
    pub days: Option<u32>,
    pub to: Option<NaiveDate>,
}

impl WindowParams {
    pub fn window(&self) -> Result<Window, WebError> {
        let days = self.days.unwrap_or(DEFAULT_DAYS);
        if days == 0 || days > MAX_DAYS {
            return Err(WebError::BadRequest(format!(
                "days must be between 1 and {MAX_DAYS}, not {days}"
            )));
        }
        Ok(Window::ending(
            self.to.unwrap_or_else(|| Utc::now().date_naive()),
            days,
        ))
    }
}

/// Overview list controls.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    /// As [`WindowParams`] (not `#[serde(flatten)]`: serde_urlencoded then cannot read
    /// numbers).
    pub days: Option<u32>,
    pub to: Option<NaiveDate>,
    /// Substring of the domain name.
    pub q: Option<String>,
    /// `ok`, `degraded`, `failing` or `silent`.
    pub status: Option<String>,
    /// `domain` (default), `status`, `success_rate`, `sessions`, `failed`, `last_report`.
    pub sort: Option<String>,
    /// `asc` (default) or `desc`.
    pub order: Option<String>,
    pub page: Option<usize>,
    pub per_page: Option<usize>,
}

impl ListParams {
    pub fn window(&self) -> Result<Window, WebError> {
        WindowParams {
            days: self.days,
            to: self.to,
        }
        .window()
    }
}

/// Report list filters. Kept as text so an empty form field means "any" rather than a 400.
#[derive(Debug, Default, Deserialize)]
pub struct ReportParams {
    pub domain: Option<String>,
    pub org: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub has_failures: Option<String>,
    pub has_diagnostics: Option<String>,
    /// DKIM verdict (`pass`, `fail`, `none`, `unauthenticated-https`, `not-checked`).
    pub dkim: Option<String>,
    pub quarantined: Option<String>,
    pub before: Option<String>,
    pub limit: Option<String>,
}

/// The most reports one page lists.
pub const MAX_REPORTS: u32 = 500;
/// Reports per page unless `limit` says otherwise.
pub const DEFAULT_REPORTS: u32 = 50;

impl ReportParams {
    pub fn filter(&self) -> Result<ReportFilter, WebError> {
        let limit = parsed::<u32>("limit", &self.limit)?.unwrap_or(DEFAULT_REPORTS);
        if limit == 0 || limit > MAX_REPORTS {
            return Err(WebError::BadRequest(format!(
                "limit must be between 1 and {MAX_REPORTS}"
            )));
        }
        Ok(ReportFilter {
            policy_domain: non_empty(&self.domain).map(|d| d.to_ascii_lowercase()),
            organization: non_empty(&self.org),
            from: parsed("from", &self.from)?,
            to: parsed("to", &self.to)?,
            has_failures: parsed("has_failures", &self.has_failures)?,
            has_diagnostics: parsed("has_diagnostics", &self.has_diagnostics)?,
            auth_result: non_empty(&self.dkim)
                .map(|v| {
                    AuthResult::from_wire(&v).ok_or_else(|| {
                        WebError::BadRequest(format!("dkim: {v:?} is not a verdict"))
                    })
                })
                .transpose()?,
            quarantined: parsed("quarantined", &self.quarantined)?,
            before: parsed("before", &self.before)?.map(ReportId),
            limit,
        })
    }
}

/// Export filters.
#[derive(Debug, Default, Deserialize)]
pub struct ExportParams {
    pub domain: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl ExportParams {
    pub fn filter(&self) -> Result<ExportFilter, WebError> {
        Ok(ExportFilter {
            policy_domain: non_empty(&self.domain).map(|d| d.to_ascii_lowercase()),
            from: parsed("from", &self.from)?,
            to: parsed("to", &self.to)?,
            after: 0,
            limit: 0,
        })
    }
}

/// An optional typed parameter; empty means absent, anything unparsable is a 400 naming it.
fn parsed<T: std::str::FromStr>(name: &str, value: &Option<String>) -> Result<Option<T>, WebError> {
    non_empty(value)
        .map(|v| {
            v.parse()
                .map_err(|_| WebError::BadRequest(format!("{name}: {v:?} is not valid")))
        })
        .transpose()
}

/// Empty form fields (`?org=`) mean "no filter", as a browser sends them.
pub fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}
