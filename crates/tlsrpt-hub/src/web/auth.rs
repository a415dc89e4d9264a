//! Access control: on anything but loopback, the dashboard and API need a login (the admin
//! user from the config, argon2 password hash) or an API bearer token from the config.
//!
//! Sessions live in the store (`web_sessions`), so a restart keeps everyone logged in and
//! every `serve` on one database (behind a load balancer) honours every login; the store
//! keeps only the SHA-256 of the cookie. A session is named by a random 256-bit cookie: `HttpOnly` (no script can read it), `Secure` (only
//! sent over HTTPS; put a TLS listener or proxy in front), `SameSite=Strict` (never sent on
//! cross-site requests). State-changing forms (login, logout) also carry a CSRF token that
//! must match: the session's for logout, a double-submit cookie for the login form.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::PasswordVerifier;
use argon2::password_hash::phc::PasswordHash;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tlsrpt_store::{NewWebSession, Store, StoreError};

use super::{WebError, WebState};
use crate::config::WebConfig;

/// A session ends this long after login.
const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
const SESSION_COOKIE: &str = "tlsrpt_session";
const LOGIN_CSRF_COOKIE: &str = "tlsrpt_login_csrf";
const FORM_CSRF_COOKIE: &str = "tlsrpt_form_csrf";

pub(crate) struct Auth {
    required: bool,
    admin: Option<(String, String)>,
    api_tokens: Vec<String>,
}

/// The request's live session, which the login middleware puts in the request's
/// extensions for the pages' layout (its logout form).
#[derive(Clone)]
pub(crate) struct LoggedIn {
    pub csrf: String,
}

impl Auth {
    pub fn new(config: &WebConfig, required: bool) -> Auth {
        if required && config.admin_user.is_none() && config.api_tokens.is_empty() {
            tracing::warn!(
                "the dashboard and API listen beyond loopback but [web] configures neither \
                 admin_user nor api_tokens: nobody can log in"
            );
        }
        Auth {
            required,
            admin: config
                .admin_user
                .clone()
                .zip(config.admin_password_hash.clone()),
            api_tokens: config.api_tokens.clone(),
        }
    }

    fn bearer_ok(&self, headers: &HeaderMap) -> bool {
        let Some(token) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        self.api_tokens
            .iter()
            .any(|t| constant_time_eq(t.as_bytes(), token.trim().as_bytes()))
    }

    async fn password_ok(&self, user: &str, password: &str) -> bool {
        let Some((admin, hash)) = self.admin.clone() else {
            return false;
        };
        let password = password.to_owned();
        let hash_ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|parsed| {
                argon2::Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
        .unwrap_or(false);
        // Check the password even for a wrong user name, so timing tells nothing.
        hash_ok && constant_time_eq(admin.as_bytes(), user.as_bytes())
    }
}

/// The live session named by the request's cookie, whichever `serve` created it.
async fn session(store: &Store, headers: &HeaderMap) -> Result<Option<LoggedIn>, StoreError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    Ok(store
        .web_session(&token)
        .await?
        .map(|s| LoggedIn { csrf: s.csrf }))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn set_cookie(name: &str, value: &str, max_age: Duration) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=Strict",
        max_age.as_secs()
    ))
    .expect("cookie text is ASCII")
}

/// Middleware in front of every dashboard and API route.
pub(crate) async fn require_login(
    State(state): State<Arc<WebState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let auth = &state.auth;
    let logged_in = match session(&state.store, request.headers()).await {
        Ok(logged_in) => logged_in,
        Err(error) => return WebError::Store(error).into_response(),
    };
    let allowed = !auth.required || logged_in.is_some() || auth.bearer_ok(request.headers());
    if let Some(logged_in) = logged_in {
        request.extensions_mut().insert(logged_in);
    }
    if allowed {
        return next.run(request).await;
    }
    if request.uri().path().starts_with("/api/") {
        let mut response = (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({ "error": "log in or send an API bearer token" })),
        )
            .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"tlsrpt-hub\""),
        );
        return response;
    }
    let next_path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    Redirect::to(&format!(
        "/login?next={}",
        super::percent_encode(&next_path)
    ))
    .into_response()
}

/// Only local paths, so the login form cannot be used as an open redirect.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

pub(crate) fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
}

#[derive(Template)]
#[template(path = "web/login.html")]
struct LoginPage {
    csrf: String,
    next: String,
    error: Option<&'static str>,
}

#[derive(Deserialize)]
struct NextParam {
    next: Option<String>,
}

async fn login_form(Query(params): Query<NextParam>) -> Response {
    login_page(safe_next(params.next.as_deref()), None, StatusCode::OK)
}

fn login_page(next: String, error: Option<&'static str>, status: StatusCode) -> Response {
    let csrf = random_token();
    let page = LoginPage {
        csrf: csrf.clone(),
        next,
        error,
    };
    let mut response = (status, Html(page.render().unwrap_or_default())).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(LOGIN_CSRF_COOKIE, &csrf, Duration::from_secs(3600)),
    );
    response
}

#[derive(Deserialize)]
struct LoginForm {
    user: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

async fn login(
    State(state): State<Arc<WebState>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let csrf_ok = cookie(&headers, LOGIN_CSRF_COOKIE)
        .is_some_and(|c| constant_time_eq(c.as_bytes(), form.csrf.as_bytes()));
    if !csrf_ok {
        return login_page(
            next,
            Some("The form expired; please try again."),
            StatusCode::FORBIDDEN,
        );
    }
    if !state.auth.password_ok(&form.user, &form.password).await {
        return login_page(
            next,
            Some("Wrong user name or password."),
            StatusCode::UNAUTHORIZED,
        );
    }
    let id = random_token();
    let stored = state
        .store
        .create_web_session(&NewWebSession {
            token: id.clone(),
            user: form.user,
            csrf: random_token(),
            expires_at: chrono::Utc::now() + SESSION_LIFETIME,
        })
        .await;
    if let Err(error) = stored {
        tracing::error!(error = %error, "storing a login session failed");
        return login_page(
            next,
            Some("The database is unavailable; please try again."),
            StatusCode::SERVICE_UNAVAILABLE,
        );
    }
    let mut response = Redirect::to(&next).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &id, SESSION_LIFETIME),
    );
    response
}

#[derive(Deserialize)]
struct LogoutForm {
    csrf: String,
}

async fn logout(
    State(state): State<Arc<WebState>>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    let logged_in = match session(&state.store, &headers).await {
        Ok(Some(logged_in)) => logged_in,
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(error) => return WebError::Store(error).into_response(),
    };
    if !constant_time_eq(logged_in.csrf.as_bytes(), form.csrf.as_bytes()) {
        return (StatusCode::FORBIDDEN, "CSRF token mismatch").into_response();
    }
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Err(error) = state.store.delete_web_session(&token).await
    {
        return WebError::Store(error).into_response();
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", Duration::ZERO),
    );
    response
}

/// The CSRF token for a state-changing dashboard form (acknowledge, mute): the session's
/// (`session_csrf`, from the page's layout) when logged in, else (an open loopback
/// dashboard) a double-submit cookie, returned with the `Set-Cookie` header to send when it
/// is new.
pub(crate) fn form_csrf(
    session_csrf: Option<&str>,
    headers: &HeaderMap,
) -> (String, Option<HeaderValue>) {
    if let Some(csrf) = session_csrf {
        return (csrf.to_owned(), None);
    }
    match cookie(headers, FORM_CSRF_COOKIE) {
        Some(token) if token.len() == 64 => (token, None),
        _ => {
            let token = random_token();
            let header = set_cookie(FORM_CSRF_COOKIE, &token, SESSION_LIFETIME);
            (token, Some(header))
        }
    }
}

/// Whether a posted form's CSRF token is the one [`form_csrf`] handed out.
pub(crate) fn form_csrf_ok(session_csrf: Option<&str>, headers: &HeaderMap, token: &str) -> bool {
    let expected = match session_csrf {
        Some(csrf) => Some(csrf.to_owned()),
        None => cookie(headers, FORM_CSRF_COOKIE),
    };
    expected.is_some_and(|e| constant_time_eq(e.as_bytes(), token.as_bytes()))
}
