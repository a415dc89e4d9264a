//! One delivery attempt to one channel: SMTP through lettre, HTTPS POST through reqwest.

use std::time::Duration;

use anyhow::{Context, bail};
use hmac::{KeyInit, Mac};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sha2::Sha256;

use super::{Message, render};
use crate::check::trust::Trust;
use crate::config::notify::{
    Channel, ChatService, EmailSecurity, EmailTarget, Target, WebhookTarget,
};

/// Header carrying `sha256=<hex>`: HMAC-SHA256, keyed with the channel's secret, of the
/// timestamp header's value, a `.`, and the exact body bytes.
pub const SIGNATURE_HEADER: &str = "X-Tlsrpt-Hub-Signature";
/// Unix seconds when the request was signed; receivers refuse old ones against replay.
pub const TIMESTAMP_HEADER: &str = "X-Tlsrpt-Hub-Timestamp";

/// A channel ready to send: its connection settings built once.
pub struct Sender {
    kind: Kind,
}

enum Kind {
    Email {
        mailer: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
        to: Vec<Mailbox>,
    },
    Webhook {
        client: reqwest::Client,
        url: String,
        secret: Option<Vec<u8>>,
    },
    Chat {
        client: reqwest::Client,
        url: String,
        service: ChatService,
    },
}

impl Sender {
    pub fn new(channel: &Channel, timeout: Duration) -> anyhow::Result<Sender> {
        let kind = match &channel.target {
            Target::Email(email) => email_sender(email, timeout)?,
            Target::Webhook(WebhookTarget { url, secret }) => Kind::Webhook {
                client: http_client(timeout)?,
                url: url.clone(),
                secret: secret.as_ref().map(|s| s.expose().as_bytes().to_vec()),
            },
            Target::Chat { service, url } => Kind::Chat {
                client: http_client(timeout)?,
                url: url.clone(),
                service: *service,
            },
        };
        Ok(Sender { kind })
    }

    /// One attempt; the error says what failed (connection, TLS, refusal, HTTP status).
    pub async fn deliver(&self, message: &Message) -> anyhow::Result<()> {
        match &self.kind {
            Kind::Email { mailer, from, to } => {
                let email = render::email(message);
                let mut builder = lettre::Message::builder()
                    .from(from.clone())
                    .subject(email.subject)
                    .header(ContentType::TEXT_PLAIN);
                for recipient in to {
                    builder = builder.to(recipient.clone());
                }
                let mail = builder.body(email.body).context("building the message")?;
                mailer.send(mail).await.map_err(smtp_error)?;
                Ok(())
            }
            Kind::Webhook {
                client,
                url,
                secret,
            } => {
                let body = serde_json::to_vec(&render::webhook(message))?;
                let mut request = client.post(url);
                if let Some(secret) = secret {
                    let timestamp = chrono::Utc::now().timestamp().to_string();
                    request = request
                        .header(SIGNATURE_HEADER, sign(secret, &timestamp, &body))
                        .header(TIMESTAMP_HEADER, timestamp);
                }
                post(request, body).await
            }
            Kind::Chat {
                client,
                url,
                service,
            } => {
                let payload = match service {
                    ChatService::Slack | ChatService::Mattermost => render::slack(message),
                    ChatService::Teams => render::teams(message),
                };
                post(client.post(url), serde_json::to_vec(&payload)?).await
            }
        }
    }
}

/// `sha256=<lower-case hex>` of HMAC-SHA256(secret, `timestamp` + "." + body).
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn post(request: reqwest::RequestBuilder, body: Vec<u8>) -> anyhow::Result<()> {
    let response = request
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map_err(http_error)?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        let text: String = text.chars().take(200).collect();
        bail!("the webhook answered HTTP {status}: {}", text.trim());
    }
    Ok(())
}

fn http_client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(Trust::new(&[] as &[&str])?.client_config()?)
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .context("building the HTTPS client")
}

fn email_sender(email: &EmailTarget, timeout: Duration) -> anyhow::Result<Kind> {
    let tls = || -> anyhow::Result<TlsParameters> {
        let mut builder = TlsParameters::builder(email.host.clone());
        if let Some(path) = &email.ca_file {
            let pem = std::fs::read(path)
                .with_context(|| format!("ca_file: cannot read {}", path.display()))?;
            builder =
                builder
                    .certificate_store(CertificateStore::None)
                    .add_root_certificate(Certificate::from_pem(&pem).with_context(|| {
                        format!("ca_file: no certificate in {}", path.display())
                    })?);
        }
        builder.build_rustls().context("TLS settings")
    };
    let mut mailer = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&email.host)
        .port(email.port)
        .hello_name(ClientId::Domain(email.helo_name.clone()))
        .timeout(Some(timeout))
        .tls(match email.security {
            EmailSecurity::Starttls => Tls::Required(tls()?),
            EmailSecurity::Tls => Tls::Wrapper(tls()?),
            EmailSecurity::None => Tls::None,
        });
    if let Some((user, password)) = &email.credentials {
        mailer = mailer.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
    }
    let mailbox = |address: &str| {
        address
            .parse::<Mailbox>()
            .with_context(|| format!("{address:?} is not an e-mail address"))
    };
    Ok(Kind::Email {
        mailer: Box::new(mailer.build()),
        from: mailbox(&email.from)?,
        to: email
            .to
            .iter()
            .map(|a| mailbox(a))
            .collect::<anyhow::Result<_>>()?,
    })
}

/// lettre's error with its causes (connection refused, certificate unknown, 5xx answer).
fn smtp_error(error: lettre::transport::smtp::Error) -> anyhow::Error {
    anyhow::Error::new(error).context("SMTP delivery failed")
}

/// Without the URL: chat webhook URLs are credentials and must not reach the logs.
fn http_error(error: reqwest::Error) -> anyhow::Error {
    anyhow::Error::new(error.without_url()).context("POST failed")
}
