//! Store rows → analysis, once per request, for every front end.

use tlsrpt_analyze::{DomainAnalysis, DomainInput, DomainOverview, Status, Window};
use tlsrpt_store::{RollupFilter, Store};

use super::WebError;
use super::query::{ListParams, non_empty};

/// Overview lines per page unless `per_page` says otherwise, and the most allowed.
pub const DEFAULT_PER_PAGE: usize = 50;
pub const MAX_PER_PAGE: usize = 1000;

/// One page of the overview, after filtering and sorting.
#[derive(Debug, serde::Serialize)]
pub struct DomainPage {
    pub window: Window,
    /// Domains matching the filters (all pages).
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
    /// Domains per status over all domains (before filtering).
    pub status_counts: StatusCounts,
    pub domains: Vec<DomainOverview>,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct StatusCounts {
    pub ok: usize,
    pub degraded: usize,
    pub failing: usize,
    pub silent: usize,
}

pub async fn domain_page(store: &Store, params: &ListParams) -> Result<DomainPage, WebError> {
    let window = params.window()?;
    let days = store.domain_days(window.from, window.to).await?;
    // Only open findings are listed, so only their days are read: every row costs (sqlx
    // hands SQLite rows over one by one), and a month of all domains' failures is thousands.
    let open_from = window
        .to
        .checked_sub_days(chrono::Days::new(tlsrpt_analyze::OPEN_FINDING_DAYS - 1))
        .map_or(window.from, |d| d.max(window.from));
    let failures = store
        .daily_failure_rollups(&RollupFilter {
            policy_domain: None,
            from: Some(open_from),
            to: Some(window.to),
        })
        .await?;
    let mut lines = tlsrpt_analyze::overview(&days, &failures, &window);
    let mut status_counts = StatusCounts::default();
    for line in &lines {
        *match line.status {
            Status::Ok => &mut status_counts.ok,
            Status::Degraded => &mut status_counts.degraded,
            Status::Failing => &mut status_counts.failing,
            Status::Silent => &mut status_counts.silent,
        } += 1;
    }
    if let Some(q) = non_empty(&params.q) {
        let q = q.to_ascii_lowercase();
        lines.retain(|l| l.domain.contains(&q));
    }
    if let Some(status) = non_empty(&params.status) {
        lines.retain(|l| l.status.as_str() == status);
    }
    sort(&mut lines, params)?;
    let per_page = params.per_page.unwrap_or(DEFAULT_PER_PAGE);
    if per_page == 0 || per_page > MAX_PER_PAGE {
        return Err(WebError::BadRequest(format!(
            "per_page must be between 1 and {MAX_PER_PAGE}"
        )));
    }
    let page = params.page.unwrap_or(1).max(1);
    let total = lines.len();
    let domains = lines
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    Ok(DomainPage {
        window,
        total,
        page,
        per_page,
        status_counts,
        domains,
    })
}

fn sort(lines: &mut [DomainOverview], params: &ListParams) -> Result<(), WebError> {
    let key = non_empty(&params.sort).unwrap_or_else(|| "domain".to_owned());
    match key.as_str() {
        "domain" => lines.sort_by(|a, b| a.domain.cmp(&b.domain)),
        "status" => lines.sort_by(|a, b| a.status.cmp(&b.status).then(a.domain.cmp(&b.domain))),
        "success_rate" => lines.sort_by(|a, b| {
            a.totals
                .success_rate
                .unwrap_or(f64::INFINITY)
                .total_cmp(&b.totals.success_rate.unwrap_or(f64::INFINITY))
                .then(a.domain.cmp(&b.domain))
        }),
        "sessions" => lines.sort_by(|a, b| {
            a.totals
                .sessions
                .cmp(&b.totals.sessions)
                .then(a.domain.cmp(&b.domain))
        }),
        "failed" => lines.sort_by(|a, b| {
            a.totals
                .failed
                .cmp(&b.totals.failed)
                .then(a.domain.cmp(&b.domain))
        }),
        "last_report" => {
            lines.sort_by(|a, b| a.last_day.cmp(&b.last_day).then(a.domain.cmp(&b.domain)))
        }
        other => {
            return Err(WebError::BadRequest(format!(
                "sort: unknown key {other:?} (domain, status, success_rate, sessions, failed, last_report)"
            )));
        }
    }
    match non_empty(&params.order).as_deref() {
        None | Some("asc") => {}
        Some("desc") => lines.reverse(),
        Some(other) => {
            return Err(WebError::BadRequest(format!(
                "order: {other:?} is neither asc nor desc"
            )));
        }
    }
    Ok(())
}

/// The full analysis of one domain; 404 when no report in the window mentions it and it was
/// never checked. A checked domain without reports still gets its page: a domain being set
/// up shows its daily check (issue 7) before the first report arrives.
pub async fn domain(
    store: &Store,
    domain: &str,
    window: Window,
) -> Result<DomainAnalysis, WebError> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let filter = RollupFilter {
        policy_domain: Some(domain.clone()),
        from: Some(window.from),
        to: Some(window.to),
    };
    let policy_days = store.daily_policy_rollups(&filter).await?;
    if policy_days.is_empty() && store.latest_domain_check(&domain).await?.is_none() {
        return Err(WebError::NotFound(format!(
            "no report about {domain} between {} and {}",
            window.from, window.to
        )));
    }
    let failure_days = store.daily_failure_rollups(&filter).await?;
    let policies = store.policies_seen(&domain, window.from, window.to).await?;
    let failures = store
        .failure_groups(&domain, window.from, window.to)
        .await?;
    let spans = store.failure_spans(&domain).await?;
    Ok(tlsrpt_analyze::analyze_domain(&DomainInput {
        domain: &domain,
        window,
        policy_days: &policy_days,
        failure_days: &failure_days,
        policies: &policies,
        failures: &failures,
        spans: &spans,
    }))
}
