//! The HTML dashboard: overview, domain page, report list, report detail.
//!
//! Pages render only what `data` (the analysis) and the store returned, through askama
//! templates that escape every value; charts are inline SVG from [`super::charts`].

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tlsrpt_analyze::{DomainAnalysis, DomainOverview, Totals, Verdict};
use tlsrpt_core::explain::explain;
use tlsrpt_core::report::format_utc;
use tlsrpt_store::AuthResult;

use super::api::{self, ReportDetail, ReportList, rfc_json};
use super::charts::{self, SUCCESS_COLOUR, Series, failure_colour};
use super::checks::{self, LatestCheck};
use super::data::{self, DomainPage};
use super::query::{ListParams, ReportParams, WindowParams, non_empty};
use super::{WebError, WebState, asset, auth};
use crate::alerts::actions::{self, AlertView, Selection};

pub fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/", get(overview))
        .route("/domains/{domain}", get(domain))
        .route("/reports", get(reports))
        .route("/reports/{id}", get(report))
        .route("/assets/style.css", get(style))
        .route("/assets/app.js", get(script))
}

async fn style() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_bytes!("assets/style.css"),
    )
}

async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_bytes!("assets/app.js"),
    )
}

/// What every page's layout needs: the logout form's CSRF token when logged in (the login
/// middleware found the session).
#[derive(Clone)]
pub(super) struct Layout {
    pub(super) logout_csrf: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Layout {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Layout {
            logout_csrf: parts
                .extensions
                .get::<auth::LoggedIn>()
                .map(|s| s.csrf.clone()),
        })
    }
}

/// Renders a page, or the error page with the error's status.
pub(super) fn render(page: Result<impl Template, WebError>, layout: Layout) -> Response {
    match page.and_then(|p| {
        p.render()
            .map_err(|e| WebError::BadRequest(format!("rendering failed: {e}")))
    }) {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            let status = error.status();
            let page = ErrorPage {
                layout,
                status,
                message: error.message(),
            };
            (status, Html(page.render().unwrap_or_default())).into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "web/error.html")]
struct ErrorPage {
    layout: Layout,
    status: StatusCode,
    message: String,
}

/// Formatting shared by the templates.
mod fmt {
    use super::*;

    pub fn rate(totals: &Totals) -> String {
        totals
            .success_rate
            .map_or_else(|| "–".to_owned(), |r| format!("{r:.2} %"))
    }

    pub fn day(day: &Option<chrono::NaiveDate>) -> String {
        day.map_or_else(|| "never".to_owned(), |d| d.to_string())
    }

    pub fn domain_href(domain: &str, query: &str) -> String {
        format!("/domains/{}{query}", super::super::percent_encode(domain))
    }
}

#[derive(Template)]
#[template(path = "web/overview.html")]
struct OverviewPage {
    layout: Layout,
    page: DomainPage,
    params: ListParams,
    /// Open alerts of every domain, most recent first.
    alerts: Vec<AlertView>,
}

impl OverviewPage {
    fn rate(&self, totals: &Totals) -> String {
        fmt::rate(totals)
    }

    fn day(&self, day: &Option<chrono::NaiveDate>) -> String {
        fmt::day(day)
    }

    fn spark(&self, line: &DomainOverview) -> String {
        let points: Vec<(u64, u64)> = line
            .sparkline
            .iter()
            .map(|p| (p.successful, p.failed))
            .collect();
        charts::sparkline(&points)
    }

    fn href(&self, line: &DomainOverview) -> String {
        fmt::domain_href(&line.domain, &self.window_query())
    }

    fn window_query(&self) -> String {
        format!(
            "?days={}&to={}",
            self.page.window.len(),
            self.page.window.to
        )
    }

    /// The current list URL with one parameter changed (sort links, pages).
    fn with(&self, key: &str, value: &str) -> String {
        let mut pairs: Vec<(&str, String)> = vec![
            ("days", self.page.window.len().to_string()),
            ("to", self.page.window.to.to_string()),
        ];
        for (k, v) in [
            ("q", non_empty(&self.params.q)),
            ("status", non_empty(&self.params.status)),
            ("sort", non_empty(&self.params.sort)),
            ("order", non_empty(&self.params.order)),
        ] {
            if let Some(v) = v {
                pairs.push((k, v));
            }
        }
        pairs.push(("per_page", self.page.per_page.to_string()));
        pairs.push(("page", self.page.page.to_string()));
        pairs.retain(|(k, _)| *k != key);
        pairs.push((key, value.to_owned()));
        if key == "sort" {
            let desc = non_empty(&self.params.sort).as_deref() == Some(value)
                && non_empty(&self.params.order).as_deref() != Some("desc");
            pairs.retain(|(k, _)| *k != "order" && *k != "page");
            pairs.push(("order", if desc { "desc" } else { "asc" }.to_owned()));
        }
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", super::percent_encode(v)))
            .collect();
        format!("/?{}", query.join("&"))
    }

    fn pages(&self) -> usize {
        self.page.total.div_ceil(self.page.per_page).max(1)
    }

    fn q(&self) -> String {
        non_empty(&self.params.q).unwrap_or_default()
    }

    fn status_is(&self, status: &str) -> bool {
        non_empty(&self.params.status).as_deref() == Some(status)
    }
}

async fn overview(
    State(state): State<Arc<WebState>>,
    layout: Layout,
    Query(params): Query<ListParams>,
) -> Response {
    let page = async {
        Ok(OverviewPage {
            layout: layout.clone(),
            page: data::domain_page(&state.store, &params).await?,
            alerts: open_alerts(&state, None).await?,
            params,
        })
    }
    .await;
    render(page, layout)
}

/// Open alerts shown at the top of the overview and a domain's page.
const OPEN_ALERTS_SHOWN: u32 = 20;

async fn open_alerts(state: &WebState, domain: Option<&str>) -> Result<Vec<AlertView>, WebError> {
    let selection = Selection {
        state: Some(tlsrpt_store::AlertState::Open),
        domain: domain.map(str::to_owned),
        limit: OPEN_ALERTS_SHOWN,
        ..Default::default()
    };
    Ok(actions::list(&state.store, &selection, chrono::Utc::now()).await?)
}

#[derive(Template)]
#[template(path = "web/domain.html")]
struct DomainPageView {
    layout: Layout,
    a: DomainAnalysis,
    chart: String,
    failure_chart: String,
    /// The latest daily DNS/MTA-STS check, if `serve` has run one for this domain.
    check: Option<LatestCheck>,
    /// The domain's open alerts.
    alerts: Vec<AlertView>,
}

impl DomainPageView {
    fn rate(&self, totals: &Totals) -> String {
        fmt::rate(totals)
    }

    fn day(&self, day: &Option<chrono::NaiveDate>) -> String {
        fmt::day(day)
    }

    fn verdict(&self) -> &'static str {
        match self.a.readiness.verdict {
            Verdict::Ready => "ready",
            Verdict::NotReady => "not-ready",
            Verdict::NotApplicable => "not-applicable",
        }
    }

    fn colour(&self, result_type: &str) -> &'static str {
        let i = self
            .a
            .result_types
            .iter()
            .position(|t| t == result_type)
            .unwrap_or(0);
        failure_colour(i)
    }

    fn reports_href(&self) -> String {
        format!(
            "/reports?domain={}&from={}&to={}",
            super::percent_encode(&self.a.domain),
            self.a.window.from,
            self.a.window.to
        )
    }
}

async fn domain(
    State(state): State<Arc<WebState>>,
    layout: Layout,
    Path(domain): Path<String>,
    Query(params): Query<WindowParams>,
) -> Response {
    let page = async {
        let a = data::domain(&state.store, &domain, params.window()?).await?;
        let days: Vec<_> = a.daily.iter().map(|p| p.day).collect();
        let mut series = vec![Series {
            name: "successful sessions",
            colour: SUCCESS_COLOUR,
            values: a.daily.iter().map(|p| p.successful).collect(),
        }];
        let failures: Vec<Series> = a
            .result_types
            .iter()
            .enumerate()
            .map(|(i, t)| Series {
                name: t,
                colour: failure_colour(i),
                values: a
                    .daily
                    .iter()
                    .map(|p| p.by_result.get(t).copied().unwrap_or(0))
                    .collect(),
            })
            .collect();
        let failure_chart = charts::stacked_bars(
            &format!("Failed sessions per day and result type for {}", a.domain),
            &days,
            &failures,
        );
        series.extend(failures);
        let chart = charts::stacked_bars(
            &format!(
                "Sessions per day for {}: successes and each failure type",
                a.domain
            ),
            &days,
            &series,
        );
        drop(series);
        let check = checks::latest(&state.store, &a.domain).await?.latest;
        let alerts = open_alerts(&state, Some(&a.domain)).await?;
        Ok(DomainPageView {
            layout: layout.clone(),
            chart,
            failure_chart,
            check,
            alerts,
            a,
        })
    }
    .await;
    render(page, layout)
}

#[derive(Template)]
#[template(path = "web/reports.html")]
struct ReportsPage {
    layout: Layout,
    list: ReportList,
    params: ReportParams,
}

impl ReportsPage {
    fn value(&self, field: &Option<String>) -> String {
        non_empty(field).unwrap_or_default()
    }

    fn selected(&self, field: &Option<String>, value: &str) -> bool {
        non_empty(field).as_deref().unwrap_or("") == value
    }

    fn time(&self, at: &chrono::DateTime<chrono::Utc>) -> String {
        format_utc(at)
    }

    /// Every verdict the store can hold, for the DKIM filter.
    fn verdicts(&self) -> &'static [AuthResult] {
        AuthResult::ALL
    }

    fn next_href(&self) -> Option<String> {
        let before = self.list.next_before?;
        let mut pairs = vec![format!("before={}", before.0)];
        for (k, v) in [
            ("domain", &self.params.domain),
            ("org", &self.params.org),
            ("from", &self.params.from),
            ("to", &self.params.to),
            ("has_failures", &self.params.has_failures),
            ("has_diagnostics", &self.params.has_diagnostics),
            ("dkim", &self.params.dkim),
            ("quarantined", &self.params.quarantined),
            ("limit", &self.params.limit),
        ] {
            if let Some(v) = non_empty(v) {
                pairs.push(format!("{k}={}", super::percent_encode(&v)));
            }
        }
        Some(format!("/reports?{}", pairs.join("&")))
    }
}

async fn reports(
    State(state): State<Arc<WebState>>,
    layout: Layout,
    Query(params): Query<ReportParams>,
) -> Response {
    let list = api::report_list(&state, &params).await;
    render(
        list.map(|list| ReportsPage {
            layout: layout.clone(),
            list,
            params,
        }),
        layout,
    )
}

#[derive(Template)]
#[template(path = "web/report.html")]
struct ReportPage {
    layout: Layout,
    detail: ReportDetail,
    stored: tlsrpt_store::StoredReport,
    json: String,
}

impl ReportPage {
    fn time(&self, at: &chrono::DateTime<chrono::Utc>) -> String {
        format_utc(at)
    }

    fn cause(&self, result_type: &tlsrpt_core::ResultType) -> &'static str {
        explain(result_type).cause
    }

    fn action(&self, result_type: &tlsrpt_core::ResultType) -> &'static str {
        explain(result_type).action
    }

    fn opt(&self, value: &Option<String>) -> String {
        value.clone().unwrap_or_else(|| "–".to_owned())
    }
}

async fn report(
    State(state): State<Arc<WebState>>,
    layout: Layout,
    Path(id): Path<i64>,
) -> Response {
    let page = async {
        let (stored, provenance) = api::stored_report(&state, id).await?;
        Ok(ReportPage {
            layout: layout.clone(),
            detail: api::report_detail(&stored, provenance),
            json: serde_json::to_string_pretty(&rfc_json(&stored.parsed.report))
                .expect("JSON values serialise"),
            stored,
        })
    }
    .await;
    render(page, layout)
}
