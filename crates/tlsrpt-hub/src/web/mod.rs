//! The dashboard and JSON API served by `serve` beside the report receiver.
//!
//! Data flows one way (ARCHITECTURE): the store's rows go through `tlsrpt_analyze` once
//! ([`data`]), and the JSON API ([`api`]), the HTML pages ([`pages`]) and exports
//! ([`export`]) only render what came out. Everything is embedded in the binary (templates,
//! CSS, JS, the OpenAPI document): the dashboard works with no internet access.
//!
//! Every value from a report is attacker-controlled (anyone may send a report, RFC 8460 §7):
//! askama escapes every template value, SVG text goes through the same escaping, and JSON is
//! produced by serde.

mod alerts;
mod api;
mod auth;
pub mod charts;
mod checks;
mod data;
pub mod export;
mod pages;
mod query;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tlsrpt_store::{Store, StoreError};

use crate::config::WebConfig;

/// What every handler shares.
pub(crate) struct WebState {
    store: Arc<Store>,
    auth: auth::Auth,
}

/// The dashboard and API routes, to merge into the HTTP receiver's router.
///
/// `local` is the listening address: on anything but loopback every route below requires a
/// login or an API bearer token.
pub fn router(store: Arc<Store>, config: &WebConfig, local: SocketAddr) -> Router {
    let state = Arc::new(WebState {
        store,
        auth: auth::Auth::new(config, !local.ip().is_loopback()),
    });
    Router::new()
        .merge(api::routes())
        .merge(alerts::routes())
        .merge(alerts::page_routes())
        .merge(pages::routes())
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            auth::require_login,
        ))
        .merge(auth::routes())
        .with_state(state)
}

/// An error a handler answers with; the message is safe to show (no report content is
/// interpolated unescaped: pages render it through askama, the API through serde).
#[derive(Debug)]
pub(crate) enum WebError {
    NotFound(String),
    BadRequest(String),
    Store(StoreError),
    /// Stored data we cannot read back (a bug or a hand-edited database); logged, 500.
    Internal(String),
}

impl From<StoreError> for WebError {
    fn from(error: StoreError) -> Self {
        WebError::Store(error)
    }
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Store(e) if e.is_temporary() => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Store(_) | WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn message(&self) -> String {
        match self {
            WebError::NotFound(m) | WebError::BadRequest(m) => m.clone(),
            WebError::Store(e) => {
                tracing::error!(error = %e, "dashboard query failed");
                "the database could not answer; see the server log".to_owned()
            }
            WebError::Internal(m) => {
                tracing::error!("{m}");
                "stored data could not be read; see the server log".to_owned()
            }
        }
    }
}

/// API errors: `{"error": "..."}` with the matching status.
impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message() });
        (self.status(), axum::Json(body)).into_response()
    }
}

/// An embedded static file.
fn asset(content_type: &'static str, body: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Percent-encodes a URL path segment or query value (RFC 3986 unreserved characters stay).
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
