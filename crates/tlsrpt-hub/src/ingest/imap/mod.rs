//! The IMAP poller: for `mailto:` rua addresses that are a mailbox at a provider (RFC 8460
//! §5.3), the most common setup. Each configured account gets one task that logs in, runs a
//! [`mailbox::pass`] over the report folder, then waits — with IDLE (RFC 2177) when the
//! server offers it, else for the poll interval — and polls again. A lost connection or a
//! refused login is retried with exponential back-off, so a provider's outage or maintenance
//! never needs a restart.

mod connect;
mod mailbox;

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio_rustls::TlsConnector;

pub use mailbox::PassSummary;

use self::connect::{ImapSession, within};
use self::mailbox::Capabilities;
use crate::config::ImapConfig;
use crate::serve::{Control, Intake};

/// First wait after a failure; doubled after each further failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// RFC 2177 §3: clients should re-issue IDLE at least every 29 minutes, or servers drop
/// the connection as inactive.
const MAX_IDLE: Duration = Duration::from_secs(29 * 60);

/// One account's poller.
pub struct ImapPoller {
    config: ImapConfig,
    tls: Option<TlsConnector>,
    intake: Arc<Intake>,
}

impl ImapPoller {
    /// Checks the TLS settings (CA file) now, so a mistake fails at start-up.
    pub fn new(config: ImapConfig, intake: Arc<Intake>) -> anyhow::Result<Self> {
        let tls = connect::tls_connector(&config)?;
        Ok(ImapPoller {
            config,
            tls,
            intake,
        })
    }

    /// One pass for cron: log in, process what is there, log out.
    pub async fn poll_once(&self) -> anyhow::Result<PassSummary> {
        let (mut session, caps) = self.open().await?;
        let summary =
            mailbox::pass(&mut session, &self.config, caps, &self.intake, || false).await?;
        // The messages are moved already; a failed LOGOUT changes nothing.
        let _ = within("LOGOUT", session.logout()).await;
        Ok(summary)
    }

    /// Polls until `control` asks for shutdown, then finishes the message in hand.
    pub async fn run(self, control: Control) -> anyhow::Result<()> {
        let account = self.config.label();
        tracing::info!(%account, "IMAP poller started");
        let mut backoff = FIRST_BACKOFF;
        loop {
            let failure = match self.session(&control, &mut backoff).await {
                Ok(()) => break,
                Err(error) => error,
            };
            tracing::warn!(
                %account,
                retry_in = ?backoff,
                "IMAP connection failed: {failure:#}"
            );
            if wait(&control, backoff).await {
                break;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        tracing::info!(%account, "IMAP poller stopped");
        Ok(())
    }

    async fn open(&self) -> anyhow::Result<(ImapSession, Capabilities)> {
        let mut session = connect::login(&self.config, self.tls.as_ref()).await?;
        let caps = Capabilities::read(&mut session).await?;
        mailbox::ensure_folders(&mut session, &self.config).await?;
        Ok((session, caps))
    }

    /// One connection's life: `Ok` on shutdown, `Err` when the connection failed.
    async fn session(&self, control: &Control, backoff: &mut Duration) -> anyhow::Result<()> {
        let account = self.config.label();
        let (mut session, caps) = tokio::select! {
            opened = self.open() => opened?,
            () = control.clone().shutdown() => return Ok(()),
        };
        tracing::info!(%account, idle = caps.idle && self.config.idle, "IMAP logged in");
        let stopping = || control.clone().shutdown().now_or_never().is_some();
        loop {
            let summary =
                mailbox::pass(&mut session, &self.config, caps, &self.intake, stopping).await?;
            *backoff = FIRST_BACKOFF;
            if summary.archived + summary.errored + summary.left > 0 {
                tracing::info!(
                    %account,
                    archived = summary.archived,
                    errored = summary.errored,
                    left = summary.left,
                    "IMAP poll done"
                );
            }
            if stopping() {
                let _ = within("LOGOUT", session.logout()).await;
                return Ok(());
            }
            if summary.new_mail {
                continue;
            }
            if caps.idle && self.config.idle {
                match idle(session, self.config.poll_interval, control).await? {
                    Some(back) => session = back,
                    None => return Ok(()),
                }
            } else if wait(control, self.config.poll_interval).await {
                let _ = within("LOGOUT", session.logout()).await;
                return Ok(());
            }
        }
    }
}

/// Waits in IDLE until the folder changes or `timeout` passes (then the caller polls
/// anyway, which also retries messages left by a store outage); `None` on shutdown. The
/// library's own timeout restarts at every keep-alive the server sends (Dovecot: every two
/// minutes), so the poll interval is enforced here.
async fn idle(
    session: ImapSession,
    timeout: Duration,
    control: &Control,
) -> anyhow::Result<Option<ImapSession>> {
    let timeout = timeout.min(MAX_IDLE);
    let mut handle = session.idle();
    within("IDLE", handle.init()).await?;
    {
        let (changed, _interrupt) = handle.wait_with_timeout(MAX_IDLE);
        tokio::select! {
            changed = changed => { changed?; }
            () = tokio::time::sleep(timeout) => {}
            () = control.clone().shutdown() => return Ok(None),
        }
    }
    Ok(Some(within("DONE", handle.done()).await?))
}

/// Sleeps for `duration`; `true` if shutdown was asked meanwhile.
async fn wait(control: &Control, duration: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => false,
        () = control.clone().shutdown() => true,
    }
}
