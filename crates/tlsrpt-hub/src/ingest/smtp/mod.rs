//! The SMTP/LMTP receiver for `mailto:` rua addresses (RFC 8460 §5.3).
//!
//! [`session`] is the protocol without IO; this module is the small tokio loop around it:
//! accept (at most `max_connections` at once), read with timeouts, hand each message to the
//! shared [`Intake`], and answer `250` only once it is committed. STARTTLS uses the same
//! certificate machinery as the HTTPS receiver, reloaded on SIGHUP.

mod reply;
pub mod session;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use tlsrpt_store::Origin;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use self::session::{Envelope, Event, Reply, Session, Settings};
use crate::config::SmtpConfig;
use crate::ingest::Submission;
use crate::serve::{Control, Intake, ReloadingCert};

/// A TLS handshake must finish within this, like the HTTPS receiver's.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

const READ_BUFFER: usize = 16 * 1024;

/// A bound SMTP or LMTP listener, ready to [`run`](SmtpReceiver::run).
pub struct SmtpReceiver {
    listener: TcpListener,
    shared: Arc<Shared>,
    control: Control,
}

struct Shared {
    settings: Arc<Settings>,
    intake: Arc<Intake>,
    tls: Option<TlsAcceptor>,
    origin: Origin,
    command_timeout: Duration,
    data_timeout: Duration,
    connections: Arc<Semaphore>,
}

impl SmtpReceiver {
    /// Binds the listener and loads the certificate, so mistakes fail before serving.
    pub async fn bind(
        config: &SmtpConfig,
        intake: Arc<Intake>,
        control: Control,
    ) -> anyhow::Result<Self> {
        let protocol = if config.lmtp { "LMTP" } else { "SMTP" };
        let tls = match &config.tls {
            Some(files) => {
                let cert = ReloadingCert::load(files.clone())?;
                let mut server = (*cert.server_config()?).clone();
                server.alpn_protocols.clear();
                tokio::spawn(Arc::clone(&cert).reload_on_request(control.clone()));
                Some(TlsAcceptor::from(Arc::new(server)))
            }
            None => None,
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("{protocol} receiver: cannot listen on {}", config.listen))?;
        tracing::info!(
            address = %listener.local_addr()?,
            starttls = tls.is_some(),
            "{protocol} receiver listening"
        );
        Ok(SmtpReceiver {
            listener,
            shared: Arc::new(Shared {
                settings: Arc::new(Settings {
                    hostname: config.hostname.clone(),
                    addresses: config.addresses.clone(),
                    lmtp: config.lmtp,
                    max_message_bytes: usize::try_from(config.max_message_bytes)
                        .unwrap_or(usize::MAX),
                    max_errors: config.max_errors,
                    starttls: tls.is_some(),
                }),
                intake,
                tls,
                origin: if config.lmtp {
                    Origin::Lmtp
                } else {
                    Origin::Smtp
                },
                command_timeout: config.command_timeout,
                data_timeout: config.data_timeout,
                connections: Arc::new(Semaphore::new(config.max_connections)),
            }),
            control,
        })
    }

    /// Accepts until shutdown, then waits for the open sessions: idle ones are told 421 and
    /// closed at once, a message being stored is finished first.
    pub async fn run(self) -> anyhow::Result<()> {
        let mut sessions = JoinSet::new();
        let shutdown = self.control.clone().shutdown();
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                () = &mut shutdown => break,
                Some(_) = sessions.join_next(), if !sessions.is_empty() => continue,
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!("accepting an SMTP connection failed: {error}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let shared = Arc::clone(&self.shared);
            let control = self.control.clone();
            match Arc::clone(&shared.connections).try_acquire_owned() {
                Ok(permit) => {
                    sessions.spawn(async move {
                        if let Err(error) = serve(stream, peer, &shared, control).await {
                            tracing::debug!(%peer, "SMTP session ended: {error}");
                        }
                        drop(permit);
                    });
                }
                Err(_) => {
                    tracing::warn!(%peer, "too many SMTP connections; refused");
                    sessions.spawn(refuse(stream));
                }
            }
        }
        while sessions.join_next().await.is_some() {}
        Ok(())
    }
}

/// RFC 5321 §3.1: a server that cannot serve now may greet with 421 and close.
async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(
        Duration::from_secs(5),
        stream.write_all(b"421 4.7.0 too many connections, try again later\r\n"),
    )
    .await;
}

/// A plain connection, or the same one after STARTTLS.
enum Connection {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Connection {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Connection::Plain(stream) => stream.read(buf).await,
            Connection::Tls(stream) => stream.read(buf).await,
        }
    }

    async fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Connection::Plain(stream) => stream.write_all(buf).await,
            Connection::Tls(stream) => {
                stream.write_all(buf).await?;
                stream.flush().await
            }
        }
    }
}

async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    control: Control,
) -> anyhow::Result<()> {
    stream.set_nodelay(true)?;
    let mut connection = Connection::Plain(stream);
    let mut session = Session::new(Arc::clone(&shared.settings), false);
    let mut buf = vec![0u8; READ_BUFFER];
    let (mut start, mut end) = (0, 0);
    let mut in_data = false;
    let mut deadline = Instant::now() + shared.command_timeout;
    let shutdown = control.shutdown();
    tokio::pin!(shutdown);
    loop {
        let mut bytes = buf[start..end].iter();
        let event = session.ingest(&mut bytes);
        start = end - bytes.as_slice().len();
        match event {
            Event::NeedInput => {
                // A deadline per command (and one for the whole message), not per read: a
                // client trickling a byte at a time must not hold the connection forever.
                let replied = !session.output().is_empty();
                flush(&mut connection, &mut session).await?;
                if replied || session.in_data() != in_data {
                    in_data = session.in_data();
                    let timeout = if in_data {
                        shared.data_timeout
                    } else {
                        shared.command_timeout
                    };
                    deadline = Instant::now() + timeout;
                }
                let read = tokio::select! {
                    read = tokio::time::timeout_at(deadline, connection.read(&mut buf)) => read,
                    () = &mut shutdown => {
                        session.close_with(Reply::new(421, [4, 3, 2], "shutting down, try again later"));
                        continue;
                    }
                };
                match read {
                    Ok(Ok(0)) => return Ok(()),
                    Ok(Ok(n)) => (start, end) = (0, n),
                    Ok(Err(error)) => return Err(error.into()),
                    Err(_) => {
                        session.close_with(Reply::new(421, [4, 4, 2], "timeout, closing"));
                    }
                }
            }
            Event::Message(envelope) => {
                flush(&mut connection, &mut session).await?;
                let recipients = envelope.recipients.len();
                let reply = deliver(shared, peer, envelope).await;
                session.delivered(recipients, &reply);
            }
            Event::StartTls => {
                flush(&mut connection, &mut session).await?;
                let (Connection::Plain(stream), Some(acceptor)) = (connection, &shared.tls) else {
                    anyhow::bail!("STARTTLS on a connection that cannot start it");
                };
                let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream))
                    .await
                    .context("TLS handshake timed out")?
                    .context("TLS handshake failed")?;
                connection = Connection::Tls(Box::new(tls));
                // RFC 3207 §4.2: whatever was pipelined after STARTTLS is discarded.
                (start, end) = (0, 0);
                session.tls_started();
            }
            Event::Close => {
                flush(&mut connection, &mut session).await?;
                return Ok(());
            }
        }
    }
}

async fn flush(connection: &mut Connection, session: &mut Session) -> std::io::Result<()> {
    let output = session.output();
    if !output.is_empty() {
        connection.write_all(output).await?;
        output.clear();
    }
    Ok(())
}

/// Stores one message through the shared intake and logs its one line.
async fn deliver(shared: &Shared, peer: SocketAddr, envelope: Envelope) -> Reply {
    let submission = Submission {
        raw: envelope.raw,
        origin: shared.origin,
        source_name: peer.to_string(),
        received_at: Utc::now(),
    };
    let outcome = shared.intake.take(submission, None).await;
    let reply = reply::for_outcome(&outcome);
    let protocol = shared.origin.as_str();
    if reply.code < 400 {
        tracing::info!(%peer, %protocol, helo = %envelope.helo, from = %envelope.mail_from, code = reply.code, outcome = %reply::summary(&outcome), "message taken");
    } else {
        tracing::warn!(%peer, %protocol, helo = %envelope.helo, from = %envelope.mail_from, code = reply.code, outcome = %reply::summary(&outcome), "{}", reply.text);
    }
    reply
}
