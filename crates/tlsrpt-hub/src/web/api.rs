//! `/api/v1/…`: every page's data as JSON, described by `openapi.json` (served as is).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;
use serde::Serialize;
use tlsrpt_core::report::{format_utc, to_rfc_json};
use tlsrpt_core::{Diagnostic, Report};
use tlsrpt_store::{
    Authentication, Provenance, ReportId, ReportListing, StoredReport, SubmissionId,
};

use super::checks::{self, DomainChecks};
use super::data::{self, DomainPage};
use super::export::{self, Format, Rows};
use super::query::{ExportParams, ListParams, ReportParams, WindowParams};
use super::{WebError, WebState, asset};

/// The API description, hand-written and checked against real responses by the API tests.
pub const OPENAPI: &str = include_str!("openapi.json");

pub fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/domains", get(domains))
        .route("/api/v1/domains/{domain}", get(domain))
        .route("/api/v1/domains/{domain}/timeseries", get(timeseries))
        .route("/api/v1/domains/{domain}/breakdowns", get(breakdowns))
        .route("/api/v1/domains/{domain}/checks", get(checks))
        .route("/api/v1/reports", get(reports))
        .route("/api/v1/reports/{id}", get(report))
        .route("/api/v1/reports/{id}/json", get(report_json))
        .route("/api/v1/reports/{id}/raw", get(report_raw))
        .route("/api/v1/export/{file}", get(export_file))
}

async fn openapi() -> Response {
    asset("application/json", OPENAPI.as_bytes())
}

async fn domains(
    State(state): State<Arc<WebState>>,
    Query(params): Query<ListParams>,
) -> Result<Json<DomainPage>, WebError> {
    Ok(Json(data::domain_page(&state.store, &params).await?))
}

async fn domain(
    State(state): State<Arc<WebState>>,
    Path(domain): Path<String>,
    Query(params): Query<WindowParams>,
) -> Result<Response, WebError> {
    let analysis = data::domain(&state.store, &domain, params.window()?).await?;
    Ok(Json(analysis).into_response())
}

#[derive(Serialize)]
struct Timeseries {
    domain: String,
    window: tlsrpt_analyze::Window,
    result_types: Vec<String>,
    daily: Vec<tlsrpt_analyze::DailyPoint>,
}

async fn timeseries(
    State(state): State<Arc<WebState>>,
    Path(domain): Path<String>,
    Query(params): Query<WindowParams>,
) -> Result<Json<Timeseries>, WebError> {
    let a = data::domain(&state.store, &domain, params.window()?).await?;
    Ok(Json(Timeseries {
        domain: a.domain,
        window: a.window,
        result_types: a.result_types,
        daily: a.daily,
    }))
}

#[derive(Serialize)]
struct Breakdowns {
    domain: String,
    window: tlsrpt_analyze::Window,
    by_organization: Vec<tlsrpt_analyze::ReporterStatus>,
    by_policy_type: Vec<tlsrpt_analyze::Breakdown>,
    by_sts_mode: Vec<tlsrpt_analyze::Breakdown>,
    by_mx_host: Vec<tlsrpt_analyze::Breakdown>,
    failures_by_receiving_mx: Vec<tlsrpt_analyze::Breakdown>,
    failures_by_sending_ip: Vec<tlsrpt_analyze::Breakdown>,
}

async fn breakdowns(
    State(state): State<Arc<WebState>>,
    Path(domain): Path<String>,
    Query(params): Query<WindowParams>,
) -> Result<Json<Breakdowns>, WebError> {
    let a = data::domain(&state.store, &domain, params.window()?).await?;
    Ok(Json(Breakdowns {
        domain: a.domain,
        window: a.window,
        by_organization: a.by_organization,
        by_policy_type: a.by_policy_type,
        by_sts_mode: a.by_sts_mode,
        by_mx_host: a.by_mx_host,
        failures_by_receiving_mx: a.failures_by_receiving_mx,
        failures_by_sending_ip: a.failures_by_sending_ip,
    }))
}

/// The latest daily DNS/MTA-STS check; independent of reports, so a configured domain
/// nobody has reported on yet still has one.
async fn checks(
    State(state): State<Arc<WebState>>,
    Path(domain): Path<String>,
) -> Result<Json<DomainChecks>, WebError> {
    Ok(Json(checks::latest(&state.store, &domain).await?))
}

#[derive(Serialize)]
pub(super) struct ReportList {
    pub reports: Vec<ReportListing>,
    /// Pass as `before` for the next page; `null` on the last page.
    pub next_before: Option<ReportId>,
}

pub(super) async fn report_list(
    state: &WebState,
    params: &ReportParams,
) -> Result<ReportList, WebError> {
    let filter = params.filter()?;
    let reports = state.store.reports(&filter).await?;
    let next_before = (reports.len() == filter.limit as usize)
        .then(|| reports.last().map(|r| r.id))
        .flatten();
    Ok(ReportList {
        reports,
        next_before,
    })
}

async fn reports(
    State(state): State<Arc<WebState>>,
    Query(params): Query<ReportParams>,
) -> Result<Json<ReportList>, WebError> {
    Ok(Json(report_list(&state, &params).await?))
}

/// A stored report as the API shows it: the normalised report (RFC 8460 §4 field names)
/// and what we know about it besides.
#[derive(Serialize)]
pub(super) struct ReportDetail {
    pub id: ReportId,
    pub provenance: Provenance,
    pub dedup_key: String,
    pub file_name: Option<String>,
    pub parser_version: String,
    pub duplicate_count: u64,
    pub stored_at: String,
    pub message: Option<tlsrpt_core::extract::MessageMeta>,
    pub diagnostics: Vec<Diagnostic>,
    /// Whether a DKIM signature vouches for the sender (RFC 8460 §3).
    pub authentication: Authentication,
    pub quarantined: bool,
    pub report: serde_json::Value,
}

pub(super) async fn stored_report(
    state: &WebState,
    id: i64,
) -> Result<(StoredReport, Provenance), WebError> {
    state
        .store
        .report_by_id(ReportId(id))
        .await?
        .ok_or_else(|| WebError::NotFound(format!("no report {id}")))
}

/// The report in RFC 8460 JSON, as the normalised model writes it.
pub(super) fn rfc_json(report: &Report) -> serde_json::Value {
    serde_json::from_slice(&to_rfc_json(report)).expect("the writer emits JSON")
}

pub(super) fn report_detail(stored: &StoredReport, provenance: Provenance) -> ReportDetail {
    ReportDetail {
        id: stored.id,
        provenance,
        report: rfc_json(&stored.parsed.report),
        dedup_key: stored.dedup_key.clone(),
        file_name: stored.file_name.clone(),
        parser_version: stored.parser_version.clone(),
        duplicate_count: stored.duplicate_count,
        stored_at: format_utc(&stored.stored_at),
        message: stored.message.clone(),
        diagnostics: stored.parsed.diagnostics.clone(),
        authentication: stored.authentication.clone(),
        quarantined: stored.quarantined,
    }
}

async fn report(
    State(state): State<Arc<WebState>>,
    Path(id): Path<i64>,
) -> Result<Json<ReportDetail>, WebError> {
    let (stored, provenance) = stored_report(&state, id).await?;
    Ok(Json(report_detail(&stored, provenance)))
}

/// The normalised report as a JSON file download.
async fn report_json(
    State(state): State<Arc<WebState>>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let (stored, _) = stored_report(&state, id).await?;
    Ok(download(
        "application/json",
        &format!("report-{id}.json"),
        to_rfc_json(&stored.parsed.report),
    ))
}

/// The bytes of the submission the report came in, exactly as received (a JSON file, a
/// gzip file or a whole e-mail).
async fn report_raw(
    State(state): State<Arc<WebState>>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let (stored, _) = stored_report(&state, id).await?;
    let SubmissionId(sub) = stored.submission_id;
    let submission = state
        .store
        .submissions(Some(SubmissionId(sub - 1)), 1)
        .await?
        .into_iter()
        .find(|s| s.id.0 == sub)
        .ok_or_else(|| WebError::NotFound(format!("no raw submission for report {id}")))?;
    Ok(download(
        "application/octet-stream",
        &format!("submission-{sub}.bin"),
        submission.raw,
    ))
}

fn download(content_type: &'static str, file_name: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// `policies.csv`, `policies.ndjson`, `failures.csv`, `failures.ndjson`, streamed page by
/// page so an export of millions of rows never sits in memory.
async fn export_file(
    State(state): State<Arc<WebState>>,
    Path(file): Path<String>,
    Query(params): Query<ExportParams>,
) -> Result<Response, WebError> {
    let (rows, format) = match file.as_str() {
        "policies.csv" => (Rows::Policies, Format::Csv),
        "policies.ndjson" => (Rows::Policies, Format::Ndjson),
        "failures.csv" => (Rows::Failures, Format::Csv),
        "failures.ndjson" => (Rows::Failures, Format::Ndjson),
        _ => {
            return Err(WebError::NotFound(format!(
                "no export {file:?} (policies.csv, policies.ndjson, failures.csv, failures.ndjson)"
            )));
        }
    };
    let filter = params.filter()?;
    let header = (format == Format::Csv).then(|| Ok(export::csv_header(rows)));
    let pages = futures_util::stream::unfold(
        (state, filter, false),
        move |(state, mut filter, done)| async move {
            if done {
                return None;
            }
            match export::next_page(&state.store, rows, format, &mut filter).await {
                Ok(Some(page)) => Some((Ok(page), (state, filter, false))),
                Ok(None) => None,
                Err(e) => Some((Err(e), (state, filter, true))),
            }
        },
    );
    let body = futures_util::stream::iter(header).chain(pages);
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}
