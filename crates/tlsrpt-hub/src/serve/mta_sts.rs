//! Hosting MTA-STS policy files (RFC 8461 §3.2) so a user needs no separate web server:
//! `GET /.well-known/mta-sts.txt` on the HTTPS listener answers with the policy of the
//! domain named by the Host header (`mta-sts.DOMAIN`), as `text/plain`; other hosts get
//! 404. Senders fetch without redirects (§3.3), so the answer is always direct.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::check::judge::policy::WELL_KNOWN;

/// Policies by host name, lower-case (`mta-sts.example.com`), as built by the config.
type Policies = Arc<BTreeMap<String, String>>;

pub fn router(policies: &BTreeMap<String, String>) -> Router {
    Router::new()
        .route(WELL_KNOWN, get(policy))
        .with_state(Arc::new(policies.clone()))
}

async fn policy(State(policies): State<Policies>, headers: HeaderMap) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .map(host_name)
        .unwrap_or_default();
    match policies.get(&host) {
        Some(policy) => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            policy.clone(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("no MTA-STS policy is hosted for {host:?}\n"),
        )
            .into_response(),
    }
}

/// `MTA-STS.Example.com.:443` → `mta-sts.example.com`.
fn host_name(value: &str) -> String {
    let without_port = match value.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => value,
    };
    without_port.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_header_forms() {
        assert_eq!(
            host_name("MTA-STS.Example.com.:8443"),
            "mta-sts.example.com"
        );
        assert_eq!(host_name("mta-sts.example.com"), "mta-sts.example.com");
    }
}
