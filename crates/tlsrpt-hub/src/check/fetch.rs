//! Fetching the MTA-STS policy as a sender does (RFC 8461 §3.3): HTTPS only, no
//! redirects, a certificate valid for `mta-sts.DOMAIN`, a size cap and a timeout.

use std::error::Error as _;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::redirect::Policy;

use super::facts::{FetchFailure, PolicyFetch};
use super::judge::policy::policy_url;
use super::trust::Trust;

/// Senders cap policy bodies at 64 KiB (RFC 8461 §3.3: "a maximum of 64 kilobytes").
pub const MAX_POLICY_BYTES: usize = 64 * 1024;

pub struct Fetcher {
    trust: Trust,
    timeout: Duration,
}

impl Fetcher {
    pub fn new(trust: Trust, timeout: Duration) -> Self {
        Fetcher { trust, timeout }
    }

    /// Fetches from `addresses`, which the caller resolved for `mta-sts.DOMAIN` (with the
    /// same resolver as every other lookup) or took from `--policy-host-override`.
    pub async fn policy(&self, domain: &str, addresses: &[SocketAddr]) -> PolicyFetch {
        let client = match self.client(domain, addresses) {
            Ok(client) => client,
            Err(error) => {
                return PolicyFetch::Failed {
                    kind: FetchFailure::Other,
                    message: format!("{error:#}"),
                };
            }
        };
        match fetch(&client, domain).await {
            Ok(fetch) => fetch,
            Err(error) => failure(&error),
        }
    }

    /// One client per domain, its host pinned to the given addresses: the URL, SNI and
    /// certificate name stay those of `mta-sts.DOMAIN`.
    fn client(&self, domain: &str, addresses: &[SocketAddr]) -> anyhow::Result<reqwest::Client> {
        reqwest::Client::builder()
            .tls_backend_preconfigured(self.trust.client_config()?)
            .redirect(Policy::none())
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .no_proxy()
            .resolve_to_addrs(&format!("mta-sts.{domain}"), addresses)
            .build()
            .context("building the HTTPS client")
    }
}

async fn fetch(client: &reqwest::Client, domain: &str) -> Result<PolicyFetch, reqwest::Error> {
    let mut response = client.get(policy_url(domain)).send().await?;
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        return Ok(PolicyFetch::Status {
            code: status.as_u16(),
            location: status
                .is_redirection()
                .then(|| header(&response, LOCATION))
                .flatten(),
        });
    }
    let content_type = header(&response, CONTENT_TYPE);
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_POLICY_BYTES {
            return Ok(PolicyFetch::TooLarge {
                limit: MAX_POLICY_BYTES,
            });
        }
    }
    Ok(PolicyFetch::Body { content_type, body })
}

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

fn failure(error: &reqwest::Error) -> PolicyFetch {
    let message = chain(error);
    let kind = if error.is_timeout() {
        FetchFailure::Timeout
    } else if is_certificate_error(error) {
        FetchFailure::Certificate
    } else if error.is_connect() {
        FetchFailure::Connect
    } else {
        FetchFailure::Other
    };
    PolicyFetch::Failed { kind, message }
}

/// Whether rustls refused the certificate, somewhere down the chain. It arrives wrapped in
/// `io::Error`s, whose `source()` skips the wrapped error itself, so those are unwrapped too.
fn is_certificate_error(error: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        let mut inner: &(dyn std::error::Error + 'static) = cause;
        while let Some(wrapped) = inner
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            inner = wrapped;
        }
        if let Some(rustls::Error::InvalidCertificate(_)) = inner.downcast_ref::<rustls::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// reqwest's top-level message is "error sending request"; the cause is below it.
fn chain(error: &reqwest::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.dedup();
    parts.join(": ")
}
