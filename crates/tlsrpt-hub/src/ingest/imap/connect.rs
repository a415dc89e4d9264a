//! Reaching the mailbox: TCP, then TLS (implicit or STARTTLS, rustls with ring) or, to a
//! loopback address only, nothing; then LOGIN. The password goes to the server and nowhere
//! else: no error or log line carries it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use async_imap::{Client, Session};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::config::{ImapConfig, ImapSecurity};

/// Longest wait for any one exchange with the server. A report message is a few KiB, so a
/// command that takes longer means a dead link; shorter than `serve`'s drain time, so a
/// shutdown never waits on a hung server.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);

/// A plain or TLS connection, so one session type serves every [`ImapSecurity`].
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> Io for T {}

pub type ImapSession = Session<Box<dyn Io>>;

/// Runs one exchange with the server under [`COMMAND_TIMEOUT`].
pub async fn within<T, E>(
    what: &str,
    exchange: impl Future<Output = Result<T, E>>,
) -> anyhow::Result<T>
where
    E: Into<anyhow::Error>,
{
    match tokio::time::timeout(COMMAND_TIMEOUT, exchange).await {
        Ok(result) => result
            .map_err(Into::into)
            .with_context(|| format!("IMAP {what}")),
        Err(_) => bail!("IMAP {what}: no answer within {COMMAND_TIMEOUT:?}"),
    }
}

/// The TLS client settings for `config`, built once so a bad `ca_file` fails at start-up.
pub fn tls_connector(config: &ImapConfig) -> anyhow::Result<Option<TlsConnector>> {
    if config.security == ImapSecurity::None {
        return Ok(None);
    }
    let mut roots = RootCertStore::empty();
    match &config.ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .with_context(|| format!("ca_file {}", path.display()))?;
            for cert in certs {
                roots
                    .add(cert)
                    .with_context(|| format!("ca_file {}", path.display()))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
        }
    }
    if roots.is_empty() {
        bail!("no trusted CA certificates (system store empty and no ca_file)");
    }
    let tls =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Some(TlsConnector::from(Arc::new(tls))))
}

/// Connects, protects the connection as configured, and logs in.
pub async fn login(config: &ImapConfig, tls: Option<&TlsConnector>) -> anyhow::Result<ImapSession> {
    let address = (config.host.as_str(), config.port);
    let tcp = within("connect", TcpStream::connect(address)).await?;
    let stream: Box<dyn Io> = match (config.security, tls) {
        (ImapSecurity::None, _) => Box::new(tcp),
        (ImapSecurity::Implicit, Some(tls)) => Box::new(handshake(tls, config, tcp).await?),
        (ImapSecurity::Starttls, Some(tls)) => {
            let mut client = Client::new(tcp);
            greeting(&mut client).await?;
            within(
                "STARTTLS",
                client.run_command_and_check_ok("STARTTLS", None),
            )
            .await?;
            // RFC 3501 §6.2.1: no greeting follows; the TLS handshake starts at once.
            Box::new(handshake(tls, config, client.into_inner()).await?)
        }
        (_, None) => bail!("TLS requested without a TLS configuration"),
    };
    let mut client = Client::new(stream);
    if config.security != ImapSecurity::Starttls {
        greeting(&mut client).await?;
    }
    match tokio::time::timeout(
        COMMAND_TIMEOUT,
        client.login(&config.username, config.password.expose()),
    )
    .await
    {
        Ok(Ok(session)) => Ok(session),
        Ok(Err((error, _))) => Err(anyhow!(error).context(format!(
            "IMAP LOGIN as {:?} refused (check username and password)",
            config.username
        ))),
        Err(_) => bail!("IMAP LOGIN: no answer within {COMMAND_TIMEOUT:?}"),
    }
}

async fn greeting<T: Io>(client: &mut Client<T>) -> anyhow::Result<()> {
    within("greeting", client.read_response())
        .await?
        .map(drop)
        .ok_or_else(|| anyhow!("the server closed the connection before its greeting"))
}

async fn handshake(
    tls: &TlsConnector,
    config: &ImapConfig,
    tcp: TcpStream,
) -> anyhow::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let name = ServerName::try_from(config.host.trim_matches(['[', ']']).to_owned())
        .with_context(|| format!("{:?} is no valid TLS server name", config.host))?;
    within("TLS handshake", tls.connect(name, tcp)).await
}
