//! `serve`: the long-running receivers around one store.
//!
//! Opens the store once, binds every configured receiver (so a taken port fails before
//! anything is announced), runs each as a task, and on SIGTERM/SIGINT shuts down gracefully:
//! receivers stop accepting and finish in-flight submissions, then the store is closed
//! cleanly. SIGHUP asks receivers to reload (TLS certificates).
//!
//! A receiver (HTTP, SMTP/LMTP, IMAP pollers) plugs in by being bound in [`run`] and given
//! an [`Intake`] and a [`Control`].

mod control;
mod domains;
mod intake;
pub mod mta_sts;
mod rate;
mod retention;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use tlsrpt_store::Store;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::task::JoinSet;

pub use control::Control;
pub use intake::{Intake, Outcome, Refusal, RefusalKind};
pub use rate::RateLimiter;
pub use tls::{ReloadingCert, TlsListener};

use crate::config::Config;
use crate::ingest::{http, imap, smtp};
use crate::notify::Notifier;

/// How long in-flight submissions get to finish after a shutdown request; a stalled client
/// must not keep the process (and the store) open forever.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How long queued alert notifications get to go out at shutdown; one retrying against a
/// dead channel must not hold the process.
const NOTIFY_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs until SIGTERM or SIGINT; `Ok` after a clean shutdown.
pub async fn run(config: Config) -> anyhow::Result<()> {
    // Installed first: SIGHUP's default action would kill the process.
    let mut signals = Signals::install()?;
    let store = Arc::new(
        Store::open(&config.database)
            .await
            .with_context(|| format!("opening database {}", config.redacted_database()))?,
    );
    let (controller, control) = control::channel();
    let mut receivers = JoinSet::new();
    let mut intake = Intake::for_config(Arc::clone(&store), &config);
    let log = crate::alerts::log::StoreLog(Arc::downgrade(&store));
    let notifier = Arc::new(
        Notifier::start(
            &config.notify,
            Some(Arc::new(log)),
            Some(Arc::clone(intake.metrics())),
        )
        .context("starting the alert channels")?,
    );
    if config.alerts.enabled {
        let (touched, task) = alerts_task(&config, Arc::clone(&store), Arc::clone(&notifier));
        intake = intake.with_alerts(touched.0);
        let control = control.clone();
        receivers.spawn(async move { ("alerts", task.run(touched.1, control).await) });
    }
    let intake = Arc::new(intake);

    let http = http::HttpReceiver::bind(&config.http, Arc::clone(&intake), control.clone()).await?;
    receivers.spawn(async move { ("http", http.run().await) });
    let gauges = Arc::clone(intake.metrics()).refresh_from(
        Arc::clone(&store),
        config.domains.iter().map(|d| d.name.clone()).collect(),
    );
    for account in &config.imap {
        let poller = imap::ImapPoller::new(account.clone(), Arc::clone(&intake))
            .with_context(|| format!("[[imap]] {}", account.label()))?;
        let control = control.clone();
        receivers.spawn(async move { ("imap", poller.run(control).await) });
    }
    if let Some(config) = &config.smtp {
        let smtp = smtp::SmtpReceiver::bind(config, Arc::clone(&intake), control.clone()).await?;
        receivers.spawn(async move { ("smtp", smtp.run().await) });
    }
    if let Some(checks) = crate::check::daily::for_config(&config, Arc::clone(&store)) {
        let control = control.clone();
        receivers.spawn(async move { ("checks", checks.run(control).await) });
    }
    drop(intake);
    let retention = config
        .retention_days
        .map(|days| retention::spawn(Arc::clone(&store), days));

    tracing::info!(database = %config.redacted_database(), "serving; SIGTERM or SIGINT stops, SIGHUP reloads certificates");

    let early_end = loop {
        tokio::select! {
            signal = signals.next() => match signal {
                Request::Reload => {
                    tracing::info!("SIGHUP: reloading");
                    controller.reload();
                }
                Request::Stop(name) => {
                    tracing::info!("{name}: shutting down, finishing in-flight submissions");
                    break None;
                }
            },
            Some(ended) = receivers.join_next() => break Some(ended),
        }
    };
    controller.shut_down();
    let mut result = match early_end {
        Some(ended) => Err(receiver_ended(ended)),
        None => Ok(()),
    };
    if let Err(error) = drain(&mut receivers).await {
        result = result.and(Err(error));
    }
    if !notifier.drain(NOTIFY_DRAIN_TIMEOUT).await {
        tracing::warn!("alert notifications still queued or retrying at shutdown: not delivered");
    }
    // Background readers of the store hold it too; stop them before closing it.
    for task in retention.into_iter().chain([gauges]) {
        task.abort();
        let _ = task.await;
    }
    let store = Arc::try_unwrap(store)
        .map_err(|_| anyhow!("submissions still running after shutdown; database not closed"))?;
    store.close().await.context("closing the database")?;
    tracing::info!("database closed; bye");
    result
}

type Touched = (
    tokio::sync::mpsc::Sender<String>,
    tokio::sync::mpsc::Receiver<String>,
);

/// The alert engine's task and the channel the intake tells it about new reports on.
fn alerts_task(
    config: &Config,
    store: Arc<Store>,
    notifier: Arc<Notifier>,
) -> (Touched, crate::alerts::task::Task) {
    let engine = crate::alerts::Engine::new(
        store,
        config.alerts.clone(),
        notifier,
        Arc::new(crate::alerts::SystemClock),
    );
    let mut digests: Vec<_> = config.notify.digests.iter().map(|d| d.schedule).collect();
    digests.sort_by_key(|s| *s as u8);
    digests.dedup();
    let task = crate::alerts::task::Task {
        engine: Arc::new(engine),
        configured: config.domains.iter().map(|d| d.name.clone()).collect(),
        digests,
    };
    (crate::alerts::task::touched_channel(), task)
}

/// Waits for every receiver to finish its in-flight work, at most [`DRAIN_TIMEOUT`].
async fn drain(receivers: &mut JoinSet<(&'static str, anyhow::Result<()>)>) -> anyhow::Result<()> {
    let mut failure = Ok(());
    let all = async {
        while let Some(ended) = receivers.join_next().await {
            if let Ok((_, Ok(()))) = ended {
                continue;
            }
            failure = Err(receiver_ended(ended));
        }
    };
    if tokio::time::timeout(DRAIN_TIMEOUT, all).await.is_err() {
        receivers.shutdown().await;
        return Err(anyhow!(
            "in-flight submissions did not finish within {DRAIN_TIMEOUT:?}"
        ));
    }
    failure
}

fn receiver_ended(
    ended: Result<(&'static str, anyhow::Result<()>), tokio::task::JoinError>,
) -> anyhow::Error {
    match ended {
        Ok((name, Ok(()))) => anyhow!("the {name} receiver stopped unexpectedly"),
        Ok((name, Err(error))) => error.context(format!("the {name} receiver failed")),
        Err(error) => anyhow!("a receiver crashed: {error}"),
    }
}

enum Request {
    Reload,
    Stop(&'static str),
}

struct Signals {
    terminate: Signal,
    interrupt: Signal,
    hangup: Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Self> {
        Ok(Signals {
            terminate: signal(SignalKind::terminate()).context("installing SIGTERM handler")?,
            interrupt: signal(SignalKind::interrupt()).context("installing SIGINT handler")?,
            hangup: signal(SignalKind::hangup()).context("installing SIGHUP handler")?,
        })
    }

    async fn next(&mut self) -> Request {
        tokio::select! {
            _ = self.terminate.recv() => Request::Stop("SIGTERM"),
            _ = self.interrupt.recv() => Request::Stop("SIGINT"),
            _ = self.hangup.recv() => Request::Reload,
        }
    }
}
