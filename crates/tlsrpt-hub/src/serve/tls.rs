//! TLS for receivers: rustls with ring (ARCHITECTURE: one crypto provider, no aws-lc), the
//! certificate read from PEM files and swapped on SIGHUP.
//!
//! The certificate sits behind a resolver consulted at every handshake, so a reload (after
//! certbot renews, say) changes what new connections see while established connections keep
//! the session they negotiated: nothing is dropped.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, ServerConfig};
use rustls::sign::CertifiedKey;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::control::Control;
use crate::config::TlsFiles;

/// A client that has not finished its handshake by then is dropped, so slow or stalled
/// handshakes cannot pile up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Completed handshakes waiting for the HTTP server to pick them up.
const READY_QUEUE: usize = 64;

/// The current certificate, replaced whole by [`ReloadingCert::reload`].
pub struct ReloadingCert {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl fmt::Debug for ReloadingCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingCert")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl ReloadingCert {
    pub fn load(files: TlsFiles) -> anyhow::Result<Arc<Self>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = read_certified_key(&files, &provider)?;
        Ok(Arc::new(ReloadingCert {
            files,
            provider,
            current: RwLock::new(Arc::new(key)),
        }))
    }

    /// Re-reads the PEM files; on error the previous certificate stays in use.
    pub fn reload(&self) -> anyhow::Result<()> {
        let key = read_certified_key(&self.files, &self.provider)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(key);
        Ok(())
    }

    /// Server settings using this certificate; HTTP/1.1 only, as the receiver serves it.
    pub fn server_config(self: &Arc<Self>) -> anyhow::Result<Arc<ServerConfig>> {
        let mut config = ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// Reloads on every SIGHUP until shutdown.
    pub async fn reload_on_request(self: Arc<Self>, mut control: Control) {
        while control.next_reload().await {
            match self.reload() {
                Ok(()) => {
                    tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded")
                }
                Err(error) => {
                    tracing::error!("TLS certificate not reloaded, keeping the old one: {error:#}")
                }
            }
        }
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(|p| p.into_inner()),
        ))
    }
}

fn read_certified_key(files: &TlsFiles, provider: &CryptoProvider) -> anyhow::Result<CertifiedKey> {
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading TLS certificate {}", files.cert.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "no certificate in {}",
        files.cert.display()
    );
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("reading TLS private key {}", files.key.display()))?;
    CertifiedKey::from_der(chain, key, provider).with_context(|| {
        format!(
            "TLS key {} does not fit certificate {}",
            files.key.display(),
            files.cert.display()
        )
    })
}

/// A listener handing out connections whose TLS handshake is done, for `axum::serve`.
///
/// Handshakes run in their own tasks, so one slow client never holds up the accept loop.
#[derive(Debug)]
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `tcp` until shutdown.
    pub fn spawn(
        tcp: TcpListener,
        config: Arc<ServerConfig>,
        control: Control,
    ) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (ready_tx, ready) = mpsc::channel(READY_QUEUE);
        tokio::spawn(accept_loop(
            tcp,
            TlsAcceptor::from(config),
            ready_tx,
            control,
        ));
        Ok(TlsListener { ready, local })
    }
}

async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
    control: Control,
) {
    let shutdown = control.shutdown();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => return,
            accepted = tcp.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accepting a connection failed: {error}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, peer)).await;
                }
                Ok(Err(error)) => tracing::debug!(%peer, "TLS handshake failed: {error}"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop ended (shutdown): no more connections, ever.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
