//! The HTTP(S) POST receiver (RFC 8460 §5.4): `POST /v1/tlsrpt` and `POST /v1/tlsrpt/{token}`.
//!
//! The body is the report file itself. Senders label it `application/tlsrpt+gzip` or
//! `+json` (§5.4), but real ones also send `application/json`, `application/gzip`,
//! `application/octet-stream` or `Content-Encoding: gzip`, so the label is only logged: the
//! bytes go to the pipeline as received and the core recognises gzip by its magic bytes, under
//! the decompressed-size cap. Nothing here decompresses, so no layer can expand a bomb
//! unchecked.
//!
//! Answers: 201 stored (with report ids), 200 duplicate (idempotent re-send), 400
//! unreadable report, 403 policy domain not served here, 404 unknown token, 408 body too
//! slow, 413 too large (as sent or decompressed), 415 not a report, 429 rate limited, 503
//! store unavailable (with Retry-After; senders retry for 24 h, §5.5). A 2xx is sent only
//! after the store committed the report.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::{IncomingStream, Listener};
use chrono::Utc;
use http_body_util::BodyExt;
use serde::Serialize;
use tlsrpt_store::{Origin, ReportId};
use tokio::net::TcpListener;

use crate::config::HttpConfig;
use crate::ingest::Submission;
use crate::serve::{
    Control, Intake, Outcome, RateLimiter, Refusal, RefusalKind, ReloadingCert, TlsListener,
};

/// A sender that has not delivered its body by then is cut off (slow-loris defence).
const BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// What 503 asks senders to wait; they back off on their own (§5.5) but a hint helps.
const RETRY_AFTER_UNAVAILABLE: &str = "60";

/// A bound receiver, ready to [`run`](HttpReceiver::run).
pub struct HttpReceiver {
    listener: Bound,
    router: Router,
    control: Control,
}

enum Bound {
    Plain(TcpListener),
    Tls(TlsListener),
}

struct HttpState {
    intake: Arc<Intake>,
    limiter: RateLimiter,
    max_body_bytes: u64,
}

/// The peer address, for both plain and TLS listeners (axum only knows plain TCP's).
#[derive(Debug, Clone, Copy)]
struct Peer(SocketAddr);

impl Connected<IncomingStream<'_, TcpListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

impl HttpReceiver {
    /// Binds the listening socket and loads the certificate, so errors show before serving.
    pub async fn bind(
        config: &HttpConfig,
        intake: Arc<Intake>,
        control: Control,
    ) -> anyhow::Result<Self> {
        let tcp = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let local = tcp.local_addr()?;
        let listener = match &config.tls {
            Some(files) => {
                let cert = ReloadingCert::load(files.clone())?;
                let tls = TlsListener::spawn(tcp, cert.server_config()?, control.clone())?;
                tokio::spawn(cert.reload_on_request(control.clone()));
                tracing::info!(%local, "HTTPS receiver listening on https://{local}/v1/tlsrpt");
                Bound::Tls(tls)
            }
            None => {
                if !local.ip().is_loopback() {
                    tracing::warn!(
                        %local,
                        "plain HTTP on a non-loopback address: reports travel unencrypted; \
                         configure http.tls_cert/tls_key or put a TLS proxy in front"
                    );
                }
                tracing::info!(%local, "HTTP receiver listening on http://{local}/v1/tlsrpt");
                Bound::Plain(tcp)
            }
        };
        tracing::info!(
            "HTTP(S) submissions are unauthenticated (RFC 8460 §3, §7): anyone can POST; \
             only reports about configured domains are stored"
        );
        let web = crate::web::router(Arc::clone(intake.store()), &config.web, local);
        let state = Arc::new(HttpState {
            intake,
            limiter: RateLimiter::new(config.rate_limit),
            max_body_bytes: config.max_body_bytes,
        });
        Ok(HttpReceiver {
            listener,
            router: router(state)
                .merge(crate::serve::mta_sts::router(&config.mta_sts_policies))
                .merge(web),
            control,
        })
    }

    /// Serves until shutdown, then waits for in-flight requests to finish.
    pub async fn run(self) -> anyhow::Result<()> {
        match self.listener {
            Bound::Plain(tcp) => serve(tcp, self.router, self.control).await,
            Bound::Tls(tls) => serve(tls, self.router, self.control).await,
        }
    }
}

async fn serve<L>(listener: L, router: Router, control: Control) -> anyhow::Result<()>
where
    L: Listener<Addr = SocketAddr>,
    Peer: for<'a> Connected<IncomingStream<'a, L>>,
{
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<Peer>(),
    )
    .with_graceful_shutdown(control.shutdown())
    .await
    .context("HTTP server")
}

fn router(state: Arc<HttpState>) -> Router {
    Router::new()
        .route("/v1/tlsrpt", post(submit))
        .route("/v1/tlsrpt/{token}", post(submit_for_token))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Prometheus/OpenMetrics scrape endpoint (crate::metrics).
async fn metrics(State(state): State<Arc<HttpState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.intake.metrics().render(),
    )
        .into_response()
}

async fn submit(
    State(state): State<Arc<HttpState>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    request: Request,
) -> Response {
    receive(&state, peer.0, None, request).await
}

async fn submit_for_token(
    State(state): State<Arc<HttpState>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    receive(&state, peer.0, Some(&token), request).await
}

/// Handles one submission and logs one line with its outcome.
async fn receive(
    state: &HttpState,
    peer: SocketAddr,
    token: Option<&str>,
    request: Request,
) -> Response {
    let content_type = header_text(request.headers(), header::CONTENT_TYPE).to_owned();
    let domain = token.and_then(|token| state.intake.domains().by_token(token));
    let (answer, bytes) = answer(state, peer, token.map(|_| domain), request).await;

    tracing::info!(
        %peer,
        domain = domain.unwrap_or("-"),
        content_type,
        bytes,
        status = answer.status.as_u16(),
        outcome = answer.body.status,
        report_ids = ?answer.body.report_ids.iter().map(|id| id.0).collect::<Vec<_>>(),
        error = answer.body.error.as_deref().unwrap_or(""),
        "submission"
    );
    answer.into_response()
}

/// `bound` is `None` on the token-less URL, `Some(None)` for a token that names no domain.
async fn answer(
    state: &HttpState,
    peer: SocketAddr,
    bound: Option<Option<&str>>,
    request: Request,
) -> (Answer, usize) {
    // Refusals before the intake sees the body; the intake counts its own.
    let refuse = |answer: Answer, reason| {
        state.intake.metrics().rejection("http", reason);
        (answer, 0)
    };
    if let Err(wait) = state.limiter.check(peer.ip()) {
        let seconds = wait.as_secs().max(1);
        let answer = Answer::error(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many submissions from {}; retry in {seconds} s",
                peer.ip()
            ),
        );
        return refuse(answer.retry_after(seconds.to_string()), "rate_limited");
    }
    let bound = match bound {
        Some(None) => {
            return refuse(
                Answer::error(StatusCode::NOT_FOUND, "unknown submission token"),
                "unknown_token",
            );
        }
        Some(Some(domain)) => Some(domain),
        None => None,
    };
    if let Err(answer) = check_headers(request.headers(), state.max_body_bytes) {
        let reason = match answer.status {
            StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            _ => "unsupported_encoding",
        };
        return refuse(answer, reason);
    }
    let raw = match read_body(request.into_body(), state.max_body_bytes).await {
        Ok(raw) => raw,
        Err(answer) => {
            let reason = match answer.status {
                StatusCode::PAYLOAD_TOO_LARGE => "too_large",
                StatusCode::REQUEST_TIMEOUT => "timeout",
                _ => "bad_request",
            };
            return refuse(answer, reason);
        }
    };
    let bytes = raw.len();
    let submission = Submission {
        raw,
        origin: Origin::Http,
        source_name: peer.to_string(),
        received_at: Utc::now(),
    };
    (
        Answer::from(state.intake.take(submission, bound).await),
        bytes,
    )
}

/// Refuses what the headers alone rule out: a declared size over the cap (before reading a
/// byte of it) and content codings other than gzip, which the core cannot undo.
fn check_headers(headers: &HeaderMap, max_body_bytes: u64) -> Result<(), Answer> {
    let declared = header_text(headers, header::CONTENT_LENGTH).parse::<u64>();
    if declared.is_ok_and(|length| length > max_body_bytes) {
        return Err(too_large_body(max_body_bytes));
    }
    let encoding = header_text(headers, header::CONTENT_ENCODING).to_ascii_lowercase();
    if !matches!(encoding.as_str(), "" | "identity" | "gzip" | "x-gzip") {
        return Err(Answer::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Encoding {encoding:?} is not supported; send gzip or none"),
        ));
    }
    Ok(())
}

/// Reads the body while counting, so a body without (or with a false) Content-Length is cut
/// off at the cap instead of buffered whole.
async fn read_body(mut body: Body, max_body_bytes: u64) -> Result<Vec<u8>, Answer> {
    let read = async {
        let mut raw = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|error| {
                Answer::error(
                    StatusCode::BAD_REQUEST,
                    format!("reading the body: {error}"),
                )
            })?;
            if let Ok(data) = frame.into_data() {
                if (raw.len() + data.len()) as u64 > max_body_bytes {
                    return Err(too_large_body(max_body_bytes));
                }
                raw.extend_from_slice(&data);
            }
        }
        Ok(raw)
    };
    tokio::time::timeout(BODY_TIMEOUT, read)
        .await
        .unwrap_or_else(|_| {
            Err(Answer::error(
                StatusCode::REQUEST_TIMEOUT,
                format!("body not received within {} s", BODY_TIMEOUT.as_secs()),
            ))
        })
}

fn too_large_body(max_body_bytes: u64) -> Answer {
    Answer::error(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("body exceeds the limit of {max_body_bytes} bytes"),
    )
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
}

/// An HTTP answer: status, optional Retry-After and a JSON body naming the problem. The body
/// is boxed so that `Result<_, Answer>` stays small on the early-refusal paths.
struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    body: Box<AnswerBody>,
}

#[derive(Debug, Default, Serialize)]
struct AnswerBody {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// Newly stored reports (201) or the already stored ones (200 duplicate).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    report_ids: Vec<ReportId>,
    /// Reports of a 201 submission that were already stored.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    duplicate_of: Vec<ReportId>,
    /// Parts of a 201 submission that could not be read (the rest was stored).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unreadable_parts: Vec<String>,
}

impl Answer {
    fn new(status: StatusCode, body: AnswerBody) -> Self {
        Answer {
            status,
            retry_after: None,
            body: Box::new(body),
        }
    }

    fn error(status: StatusCode, error: impl Into<String>) -> Self {
        let word = match status {
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            StatusCode::INTERNAL_SERVER_ERROR => "error",
            _ => "rejected",
        };
        Answer::new(
            status,
            AnswerBody {
                status: word,
                error: Some(error.into()),
                ..AnswerBody::default()
            },
        )
    }

    fn retry_after(mut self, seconds: impl Into<String>) -> Self {
        self.retry_after = Some(seconds.into());
        self
    }
}

impl From<Outcome> for Answer {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Stored {
                stored,
                duplicates,
                unreadable,
            } => Answer::new(
                StatusCode::CREATED,
                AnswerBody {
                    status: "stored",
                    report_ids: stored,
                    duplicate_of: duplicates,
                    unreadable_parts: unreadable,
                    ..AnswerBody::default()
                },
            ),
            Outcome::Duplicate { existing } => Answer::new(
                StatusCode::OK,
                AnswerBody {
                    status: "duplicate",
                    report_ids: existing,
                    ..AnswerBody::default()
                },
            ),
            Outcome::Refused(Refusal { kind, reason }) => {
                Answer::error(refusal_status(kind), reason)
            }
            Outcome::Unavailable(reason) => Answer::error(StatusCode::SERVICE_UNAVAILABLE, reason)
                .retry_after(RETRY_AFTER_UNAVAILABLE),
            Outcome::Failed(reason) => Answer::error(StatusCode::INTERNAL_SERVER_ERROR, reason),
        }
    }
}

/// 403 for a domain not served: the request is understood and well-formed, the receiver
/// just declines it (422 would suggest the report itself is faulty, and it may not be).
fn refusal_status(kind: RefusalKind) -> StatusCode {
    match kind {
        RefusalKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        RefusalKind::NotAReport => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        RefusalKind::Unreadable => StatusCode::BAD_REQUEST,
        RefusalKind::DomainNotServed | RefusalKind::Unauthenticated => StatusCode::FORBIDDEN,
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let json = serde_json::to_vec(&self.body).expect("answer bodies serialise");
        let mut response = (self.status, json).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(seconds) = self
            .retry_after
            .and_then(|s| HeaderValue::from_str(&s).ok())
        {
            headers.insert(header::RETRY_AFTER, seconds);
        }
        response
    }
}
