//! Alerts in the API (`/api/v1/alerts`, acknowledge, mute) and on the dashboard
//! (`/alerts`, with CSRF-protected acknowledge and mute forms: the session's token, or a
//! double-submit cookie on an open loopback dashboard).
//!
//! The API's POSTs take JSON bodies only: a browser cannot send `application/json` across
//! sites without a CORS preflight this server never answers, so another site cannot make a
//! logged-in (or loopback) browser act on alerts.

use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::pages::{Layout, render};
use super::{WebError, WebState, auth};
use crate::alerts::actions::{self, ActionError, AlertView, Selection};

pub fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/api/v1/alerts", get(list))
        .route("/api/v1/alerts/{id}/acknowledge", post(acknowledge))
        .route("/api/v1/alerts/{id}/mute", post(mute))
}

/// `?state=open|resolved|all&domain=&severity=&before=&limit=`.
#[derive(Debug, Default, Deserialize)]
pub struct AlertParams {
    /// Default `open`.
    pub state: Option<String>,
    pub domain: Option<String>,
    pub severity: Option<String>,
    pub before: Option<i64>,
    pub limit: Option<u32>,
}

/// Alerts per page unless `limit` says otherwise.
const DEFAULT_LIMIT: u32 = 100;

impl AlertParams {
    pub fn selection(&self) -> Result<Selection, WebError> {
        Ok(Selection {
            state: Selection::parse_state(self.state.as_deref().unwrap_or("open"))
                .map_err(WebError::BadRequest)?,
            domain: self.domain.clone().filter(|d| !d.is_empty()),
            severity: self
                .severity
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(Selection::parse_severity)
                .transpose()
                .map_err(WebError::BadRequest)?,
            before: self.before,
            limit: self.limit.unwrap_or(DEFAULT_LIMIT),
        })
    }
}

#[derive(Serialize)]
pub(super) struct AlertList {
    pub alerts: Vec<AlertView>,
    /// Pass as `before` for the next page; `null` on the last page.
    pub next_before: Option<i64>,
}

pub(super) async fn alert_list(
    state: &WebState,
    params: &AlertParams,
) -> Result<AlertList, WebError> {
    let selection = params.selection()?;
    let alerts = actions::list(&state.store, &selection, Utc::now()).await?;
    let full = alerts.len() == selection.limit.clamp(1, actions::MAX_LIMIT) as usize;
    let next_before = full.then(|| alerts.last().map(|a| a.stored.id)).flatten();
    Ok(AlertList {
        alerts,
        next_before,
    })
}

async fn list(
    State(state): State<Arc<WebState>>,
    Query(params): Query<AlertParams>,
) -> Result<Json<AlertList>, WebError> {
    Ok(Json(alert_list(&state, &params).await?))
}

impl From<ActionError> for WebError {
    fn from(error: ActionError) -> Self {
        match error {
            ActionError::NotFound(id) => WebError::NotFound(format!("no alert {id}")),
            ActionError::Store(error) => WebError::Store(error),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AcknowledgeBody {
    /// Who is on it; default `api`.
    by: Option<String>,
}

async fn acknowledge(
    State(state): State<Arc<WebState>>,
    Path(id): Path<i64>,
    Json(body): Json<AcknowledgeBody>,
) -> Result<Json<AlertView>, WebError> {
    let by = body.by.filter(|b| !b.trim().is_empty());
    let by = by.as_deref().unwrap_or("api");
    Ok(Json(
        actions::acknowledge(&state.store, id, by, Utc::now()).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MuteBody {
    /// `30m`, `12h`, `7d`, `2w`; `0d` unmutes.
    #[serde(rename = "for")]
    duration: String,
}

async fn mute(
    State(state): State<Arc<WebState>>,
    Path(id): Path<i64>,
    Json(body): Json<MuteBody>,
) -> Result<Json<AlertView>, WebError> {
    let duration = actions::parse_duration(&body.duration).map_err(WebError::BadRequest)?;
    Ok(Json(
        actions::mute(&state.store, id, duration, Utc::now()).await?,
    ))
}

/// `/alerts`: the list with acknowledge and mute forms.
pub fn page_routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/alerts", get(page))
        .route("/alerts/{id}/acknowledge", post(acknowledge_form))
        .route("/alerts/{id}/mute", post(mute_form))
}

#[derive(askama::Template)]
#[template(path = "web/alerts.html")]
struct AlertsPage {
    layout: Layout,
    list: AlertList,
    state: String,
    domain: String,
    csrf: String,
}

impl AlertsPage {
    fn domain_href(&self, domain: &str) -> String {
        format!("/domains/{}", super::percent_encode(domain))
    }

    fn time(&self, at: &chrono::DateTime<Utc>) -> String {
        at.format("%Y-%m-%d %H:%M UTC").to_string()
    }
}

async fn page(
    State(state): State<Arc<WebState>>,
    layout: Layout,
    headers: HeaderMap,
    Query(params): Query<AlertParams>,
) -> Response {
    let (csrf, cookie) = auth::form_csrf(layout.logout_csrf.as_deref(), &headers);
    let page = alert_list(&state, &params).await.map(|list| AlertsPage {
        layout: layout.clone(),
        list,
        state: params.state.clone().unwrap_or_else(|| "open".to_owned()),
        domain: params.domain.clone().unwrap_or_default(),
        csrf,
    });
    let mut response = render(page, layout);
    if let Some(cookie) = cookie {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(Deserialize)]
struct ActionForm {
    csrf: String,
    #[serde(rename = "for")]
    duration: Option<String>,
}

async fn acknowledge_form(
    State(state): State<Arc<WebState>>,
    layout: Layout,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> Response {
    if !auth::form_csrf_ok(layout.logout_csrf.as_deref(), &headers, &form.csrf) {
        return (StatusCode::FORBIDDEN, "CSRF token mismatch").into_response();
    }
    let result = actions::acknowledge(&state.store, id, "dashboard", Utc::now()).await;
    after_action(result.map(drop).map_err(WebError::from), layout)
}

async fn mute_form(
    State(state): State<Arc<WebState>>,
    layout: Layout,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> Response {
    if !auth::form_csrf_ok(layout.logout_csrf.as_deref(), &headers, &form.csrf) {
        return (StatusCode::FORBIDDEN, "CSRF token mismatch").into_response();
    }
    let result = async {
        let duration = actions::parse_duration(form.duration.as_deref().unwrap_or("7d"))
            .map_err(WebError::BadRequest)?;
        actions::mute(&state.store, id, duration, Utc::now()).await?;
        Ok(())
    }
    .await;
    after_action(result, layout)
}

/// Back to the list (post/redirect/get), or the error page.
fn after_action(result: Result<(), WebError>, layout: Layout) -> Response {
    match result {
        Ok(()) => Redirect::to("/alerts").into_response(),
        Err(error) => render(Err::<AlertsPage, _>(error), layout),
    }
}
