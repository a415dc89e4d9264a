//! Delivery of alert notices and digests to the configured channels (issue 6).
//!
//! The alert engine hands a [`Notice`] to [`Notifier::send`], which never waits: it picks the
//! channels from `[[routes]]` and appends to each channel's bounded queue (dropping that
//! queue's oldest notice when full, logged and counted). One task per channel delivers its
//! queue in order, retrying with exponential back-off, so a dead channel delays only itself
//! and never ingestion or the other channels.

mod channel;
pub mod render;

use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use tlsrpt_analyze::{
    Alert, AlertEvidence, Digest, DigestDomain, Notice, NoticeKind, Rule, Severity,
};
use tokio::task::JoinHandle;

use channel::Sender;
#[cfg(test)]
use channel::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};

use crate::config::Config;
use crate::config::notify::{Delivery, DigestRecipient, DigestSchedule, NotifyConfig, Route};
use crate::metrics::{DeliveryOutcome, Metrics};

/// What a channel delivers.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Notice(Box<Notice>),
    Digest(Digest),
}

impl Message {
    fn subject(&self) -> Subject {
        match self {
            Message::Notice(notice) => Subject::Notice {
                alert_id: notice.alert_id,
                kind: notice.kind,
            },
            Message::Digest(digest) => Subject::Digest {
                from: digest.from,
                to: digest.to,
            },
        }
    }
}

/// Which message an attempt was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Notice { alert_id: i64, kind: NoticeKind },
    Digest { from: NaiveDate, to: NaiveDate },
}

/// One delivery attempt (or a drop from a full queue), for the notification history.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryAttempt {
    pub channel: String,
    pub subject: Subject,
    /// 1 for the first try; 0 for a message dropped before any attempt.
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub outcome: AttemptOutcome,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AttemptOutcome {
    Delivered,
    /// The error as a person reads it; `will_retry` is false when this was the last try.
    Failed {
        error: String,
        will_retry: bool,
    },
    /// Pushed out of a full queue by newer messages.
    Dropped,
}

/// Where attempts are recorded (the store's notification log); called from the channel
/// tasks, never from [`Notifier::send`]'s caller.
pub trait DeliveryLog: Send + Sync + 'static {
    fn record<'a>(
        &'a self,
        attempt: DeliveryAttempt,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

/// The running channel tasks; dropping it stops them (queued messages are lost).
pub struct Notifier {
    queues: Vec<Arc<Queue>>,
    routes: Vec<Route>,
    digests: Vec<DigestRecipient>,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

struct Queue {
    channel: String,
    capacity: usize,
    state: Mutex<QueueState>,
    wake: tokio::sync::Notify,
    idle: tokio::sync::Notify,
}

#[derive(Default)]
struct QueueState {
    jobs: VecDeque<Job>,
    busy: bool,
}

struct Job {
    message: Arc<Message>,
    queued: Instant,
}

/// What the channel tasks share.
struct Shared {
    delivery: Delivery,
    log: Option<Arc<dyn DeliveryLog>>,
    metrics: Option<Arc<Metrics>>,
}

impl Notifier {
    /// Builds every channel (bad TLS or CA settings fail here, at start) and spawns one task
    /// per channel on the current Tokio runtime.
    pub fn start(
        config: &NotifyConfig,
        log: Option<Arc<dyn DeliveryLog>>,
        metrics: Option<Arc<Metrics>>,
    ) -> anyhow::Result<Notifier> {
        let shared = Arc::new(Shared {
            delivery: config.delivery.clone(),
            log,
            metrics,
        });
        let mut queues = Vec::with_capacity(config.channels.len());
        let mut tasks = Vec::with_capacity(config.channels.len());
        for channel in &config.channels {
            let sender = Sender::new(channel, config.delivery.timeout)
                .with_context(|| format!("channel {:?}", channel.name))?;
            let queue = Arc::new(Queue {
                channel: channel.name.clone(),
                capacity: config.delivery.queue_capacity,
                state: Mutex::default(),
                wake: tokio::sync::Notify::new(),
                idle: tokio::sync::Notify::new(),
            });
            tasks.push(tokio::spawn(run(
                Arc::clone(&queue),
                sender,
                Arc::clone(&shared),
            )));
            queues.push(queue);
        }
        Ok(Notifier {
            queues,
            routes: config.routes.clone(),
            digests: config.digests.clone(),
            shared,
            tasks,
        })
    }

    /// Queues the notice for every channel a route sends it to, without waiting; returns
    /// those channels' names.
    pub fn send(&self, notice: Notice) -> Vec<String> {
        let alert = &notice.alert;
        let channels: BTreeSet<&str> = self
            .routes
            .iter()
            .filter(|route| route.matches(&alert.domain, alert.severity, notice.kind))
            .flat_map(|route| route.channels.iter().map(String::as_str))
            .collect();
        let queues: Vec<&Arc<Queue>> = self
            .queues
            .iter()
            .filter(|queue| channels.contains(queue.channel.as_str()))
            .collect();
        if queues.is_empty() {
            tracing::debug!(
                domain = %alert.domain,
                rule = alert.rule.as_str(),
                "no route sends this notice to any channel"
            );
        }
        let message = Arc::new(Message::Notice(Box::new(notice)));
        queues
            .into_iter()
            .map(|queue| {
                self.push(queue, Arc::clone(&message));
                queue.channel.clone()
            })
            .collect()
    }

    /// Queues the digest for every `[[digests]]` recipient on `schedule`, each with only the
    /// domains its patterns match (none matched: nothing sent); returns those channels.
    pub fn send_digests(&self, schedule: DigestSchedule, digest: &Digest) -> Vec<String> {
        let mut sent = Vec::new();
        for recipient in self.digests.iter().filter(|r| r.schedule == schedule) {
            let Some(queue) = self.queues.iter().find(|q| q.channel == recipient.channel) else {
                continue;
            };
            let domains: Vec<DigestDomain> = digest
                .domains
                .iter()
                .filter(|domain| {
                    recipient
                        .domains
                        .iter()
                        .any(|pattern| pattern.matches(&domain.domain))
                })
                .cloned()
                .collect();
            if domains.is_empty() {
                continue;
            }
            let mine = Digest {
                domains,
                ..digest.clone()
            };
            self.push(queue, Arc::new(Message::Digest(mine)));
            sent.push(recipient.channel.clone());
        }
        sent
    }

    fn push(&self, queue: &Queue, message: Arc<Message>) {
        let dropped = {
            let mut state = queue.state.lock().expect("queue lock");
            state.jobs.push_back(Job {
                message,
                queued: Instant::now(),
            });
            (state.jobs.len() > queue.capacity).then(|| state.jobs.pop_front())
        };
        queue.wake.notify_one();
        if let Some(Some(job)) = dropped {
            tracing::warn!(
                channel = %queue.channel,
                capacity = queue.capacity,
                "notification queue full: dropped the oldest message"
            );
            self.shared
                .outcome(&queue.channel, DeliveryOutcome::Dropped);
            if let Some(log) = &self.shared.log {
                let log = Arc::clone(log);
                let attempt = DeliveryAttempt {
                    channel: queue.channel.clone(),
                    subject: job.message.subject(),
                    attempt: 0,
                    at: Utc::now(),
                    outcome: AttemptOutcome::Dropped,
                };
                tokio::spawn(async move { log.record(attempt).await });
            }
        }
    }

    /// Waits until every queue is empty and no delivery is under way, or `within` passes;
    /// true if everything was delivered (or given up on) in time. For shutdown and tests.
    pub async fn drain(&self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        for queue in &self.queues {
            loop {
                let idle = queue.idle.notified();
                {
                    let state = queue.state.lock().expect("queue lock");
                    if state.jobs.is_empty() && !state.busy {
                        break;
                    }
                }
                if tokio::time::timeout_at(deadline, idle).await.is_err() {
                    return false;
                }
            }
        }
        true
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Shared {
    fn outcome(&self, channel: &str, outcome: DeliveryOutcome) {
        if let Some(metrics) = &self.metrics {
            metrics.delivery(channel, outcome);
        }
    }

    async fn record(
        &self,
        channel: &str,
        message: &Message,
        attempt: u32,
        outcome: AttemptOutcome,
    ) {
        if let Some(log) = &self.log {
            log.record(DeliveryAttempt {
                channel: channel.to_owned(),
                subject: message.subject(),
                attempt,
                at: Utc::now(),
                outcome,
            })
            .await;
        }
    }
}

/// A channel's task: takes its queue's messages in order, one at a time.
async fn run(queue: Arc<Queue>, sender: Sender, shared: Arc<Shared>) {
    loop {
        let job = loop {
            let woken = queue.wake.notified();
            {
                let mut state = queue.state.lock().expect("queue lock");
                if let Some(job) = state.jobs.pop_front() {
                    state.busy = true;
                    break job;
                }
                state.busy = false;
            }
            queue.idle.notify_waiters();
            woken.await;
        };
        deliver(&queue.channel, &sender, &job, &shared).await;
    }
}

/// Tries until delivered, `max_attempts` is reached, or the next try would start after
/// `give_up_after`; waits `initial_backoff`, doubling up to `max_backoff`, between tries.
async fn deliver(channel: &str, sender: &Sender, job: &Job, shared: &Shared) {
    let policy = &shared.delivery;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = match tokio::time::timeout(policy.timeout, sender.deliver(&job.message)).await
        {
            Ok(result) => result,
            Err(_) => Err(anyhow::anyhow!(
                "no answer within {} s",
                policy.timeout.as_secs_f64()
            )),
        };
        let error = match result {
            Ok(()) => {
                tracing::info!(channel, attempt, "notification delivered");
                shared.outcome(channel, DeliveryOutcome::Delivered);
                shared
                    .record(channel, &job.message, attempt, AttemptOutcome::Delivered)
                    .await;
                return;
            }
            Err(error) => format!("{error:#}"),
        };
        let wait = backoff(policy, attempt);
        let will_retry =
            attempt < policy.max_attempts && job.queued.elapsed() + wait < policy.give_up_after;
        shared.outcome(channel, DeliveryOutcome::Failed);
        shared
            .record(
                channel,
                &job.message,
                attempt,
                AttemptOutcome::Failed {
                    error: error.clone(),
                    will_retry,
                },
            )
            .await;
        if !will_retry {
            tracing::error!(channel, attempt, %error, "notification not delivered: giving up");
            shared.outcome(channel, DeliveryOutcome::GaveUp);
            return;
        }
        tracing::warn!(channel, attempt, %error, retry_in = ?wait, "notification delivery failed");
        tokio::time::sleep(wait).await;
    }
}

/// The wait after failed attempt number `attempt` (1-based).
fn backoff(policy: &Delivery, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    policy
        .initial_backoff
        .checked_mul(factor)
        .map_or(policy.max_backoff, |wait| wait.min(policy.max_backoff))
}

/// Sends a sample notice through one configured channel, once, now: `alerts test`.
pub async fn send_test(config: &Config, channel_name: &str) -> anyhow::Result<()> {
    let channels = &config.notify.channels;
    let channel = channels
        .iter()
        .find(|channel| channel.name == channel_name)
        .with_context(|| {
            let names: Vec<&str> = channels.iter().map(|c| c.name.as_str()).collect();
            format!(
                "no [[channels]] is named {channel_name:?} (configured: {})",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            )
        })?;
    let failed = |error: anyhow::Error| {
        error.context(format!(
            "channel {channel_name:?} ({})",
            channel.target.kind()
        ))
    };
    let sender = Sender::new(channel, config.notify.delivery.timeout).map_err(failed)?;
    let message = Message::Notice(Box::new(sample_notice(NoticeKind::Test)));
    match tokio::time::timeout(config.notify.delivery.timeout, sender.deliver(&message)).await {
        Ok(result) => result.map_err(failed),
        Err(_) => Err(failed(anyhow::anyhow!(
            "no answer within {} s",
            config.notify.delivery.timeout.as_secs()
        ))),
    }
}

/// A realistic alert (an expired certificate at one MX) for `alerts test` and the tests.
pub fn sample_notice(kind: NoticeKind) -> Notice {
    let day = Utc::now().date_naive();
    Notice {
        kind,
        alert_id: 0,
        alert: Alert {
            domain: "example.com".to_owned(),
            rule: Rule::CertificateFailure,
            severity: Severity::Critical,
            title: "certificate-expired at mx1.example.com reported by Google".to_owned(),
            cause: "The MX host presented a certificate whose validity period has ended."
                .to_owned(),
            action: "Renew the certificate on mx1.example.com and make sure the MTA reloads it."
                .to_owned(),
            evidence: AlertEvidence {
                result_types: vec!["certificate-expired".to_owned()],
                organizations: vec!["Google Inc.".to_owned()],
                receiving_mx_hosts: vec!["mx1.example.com".to_owned()],
                sending_mta_ips: vec!["192.0.2.25".to_owned()],
                report_ids: vec![7],
                failed_sessions: 12,
                total_sessions: 340,
                first_seen: day.pred_opt(),
                last_seen: Some(day),
                notes: Vec::new(),
            },
        },
        opened_at: Utc::now(),
        resolved_at: None,
        link: Some("https://tlsrpt.example.com/domains/example.com".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::notify::{Channel, ChatService, DomainPattern, Target, WebhookTarget};
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use tokio::sync::Semaphore;

    type Received = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

    /// A real HTTP server on loopback that records each POST as it arrives, then answers
    /// 200 once the gate lets it.
    #[derive(Clone)]
    struct Sink {
        url: String,
        received: Received,
        arrived: Arc<tokio::sync::Notify>,
        gate: Arc<Semaphore>,
    }

    impl Sink {
        async fn start(open: bool) -> Sink {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let sink = Sink {
                url: format!("http://{}/hook", listener.local_addr().unwrap()),
                received: Arc::default(),
                arrived: Arc::default(),
                gate: Arc::new(Semaphore::new(if open { 1 << 20 } else { 0 })),
            };
            let app = axum::Router::new()
                .route("/hook", axum::routing::post(Sink::hook))
                .with_state(sink.clone());
            tokio::spawn(async move { axum::serve(listener, app).await });
            sink
        }

        async fn hook(State(sink): State<Sink>, headers: HeaderMap, body: Bytes) -> StatusCode {
            sink.received.lock().unwrap().push((headers, body.to_vec()));
            sink.arrived.notify_waiters();
            sink.gate.acquire().await.unwrap().forget();
            StatusCode::OK
        }

        async fn wait_for(&self, count: usize) {
            tokio::time::timeout(Duration::from_secs(20), async {
                loop {
                    let arrived = self.arrived.notified();
                    if self.received.lock().unwrap().len() >= count {
                        return;
                    }
                    arrived.await;
                }
            })
            .await
            .expect("the sink got the requests");
        }

        fn bodies(&self) -> Vec<serde_json::Value> {
            self.received
                .lock()
                .unwrap()
                .iter()
                .map(|(_, body)| serde_json::from_slice(body).unwrap())
                .collect()
        }
    }

    #[derive(Default)]
    struct Collect(Mutex<Vec<DeliveryAttempt>>);

    impl DeliveryLog for Collect {
        fn record<'a>(
            &'a self,
            attempt: DeliveryAttempt,
        ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
            self.0.lock().unwrap().push(attempt);
            Box::pin(async {})
        }
    }

    impl Collect {
        fn of(&self, channel: &str) -> Vec<DeliveryAttempt> {
            let attempts = self.0.lock().unwrap();
            attempts
                .iter()
                .filter(|a| a.channel == channel)
                .cloned()
                .collect()
        }
    }

    fn webhook(name: &str, url: &str, secret: Option<&str>) -> Channel {
        let file: crate::config::notify::FileChannel = toml::from_str(&format!(
            "name = \"{name}\"\nkind = \"webhook\"\nurl = \"{url}\"\n{}",
            secret.map_or(String::new(), |s| format!("secret = \"{s}\""))
        ))
        .unwrap();
        file.resolve().unwrap()
    }

    fn every(channels: &[&str]) -> Route {
        Route {
            domains: vec![DomainPattern::Any],
            min_severity: Severity::Low,
            kinds: vec![NoticeKind::Opened, NoticeKind::Resolved],
            channels: channels.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn notice(alert_id: i64) -> Notice {
        let mut notice = sample_notice(NoticeKind::Opened);
        notice.alert_id = alert_id;
        notice
    }

    async fn closed_port() -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_without_overflow() {
        let policy = Delivery {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
            ..Delivery::default()
        };
        let waits: Vec<u128> = [1, 2, 3, 4, 40, u32::MAX]
            .map(|n| backoff(&policy, n).as_millis())
            .to_vec();
        assert_eq!(waits, [100, 200, 350, 350, 350, 350]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dead_channel_retries_with_back_off_and_blocks_no_one() {
        let sink = Sink::start(true).await;
        let dead = format!("http://127.0.0.1:{}/hook", closed_port().await);
        let config = NotifyConfig {
            channels: vec![
                webhook("dead", &dead, None),
                webhook("live", &sink.url, Some("s3cret")),
            ],
            routes: vec![every(&["live", "dead"])],
            digests: Vec::new(),
            delivery: Delivery {
                max_attempts: 4,
                initial_backoff: Duration::from_millis(300),
                max_backoff: Duration::from_millis(600),
                ..Delivery::default()
            },
        };
        let log = Arc::new(Collect::default());
        let metrics = Arc::new(Metrics::new());
        let notifier = Notifier::start(
            &config,
            Some(log.clone() as Arc<dyn DeliveryLog>),
            Some(Arc::clone(&metrics)),
        )
        .unwrap();
        assert_eq!(notifier.send(notice(9)), ["dead", "live"]);
        sink.wait_for(1).await;
        let dead_so_far = log.of("dead");
        assert!(
            dead_so_far.iter().all(|a| matches!(
                a.outcome,
                AttemptOutcome::Failed {
                    will_retry: true,
                    ..
                }
            )),
            "the live channel was served while the dead one still retried: {dead_so_far:?}"
        );
        assert!(notifier.drain(Duration::from_secs(30)).await);

        let (headers, body) = sink.received.lock().unwrap()[0].clone();
        let timestamp = headers[TIMESTAMP_HEADER].to_str().unwrap();
        assert_eq!(
            headers[SIGNATURE_HEADER].to_str().unwrap(),
            sign(b"s3cret", timestamp, &body)
        );
        assert_eq!(sink.bodies()[0]["notice"]["alert_id"], 9);

        let live = log.of("live");
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].outcome, AttemptOutcome::Delivered);
        let dead = log.of("dead");
        assert_eq!(
            dead.iter().map(|a| a.attempt).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        for (attempt, wait_ms) in dead.windows(2).zip([300, 600, 600]) {
            let gap = attempt[1].at - attempt[0].at;
            assert!(
                gap >= chrono::TimeDelta::milliseconds(wait_ms),
                "attempt {} came {gap} after the one before",
                attempt[1].attempt
            );
        }
        let AttemptOutcome::Failed { error, will_retry } = &dead[3].outcome else {
            panic!("{dead:?}");
        };
        assert!(!will_retry);
        assert!(error.contains("POST failed"), "{error}");
        let text = metrics.render();
        for line in [
            "tlsrpt_alert_deliveries_total{channel=\"dead\",outcome=\"failed\"} 4",
            "tlsrpt_alert_deliveries_total{channel=\"dead\",outcome=\"gave_up\"} 1",
            "tlsrpt_alert_deliveries_total{channel=\"live\",outcome=\"delivered\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn delivery_gives_up_when_the_next_try_would_start_too_late() {
        let dead = format!("http://127.0.0.1:{}/hook", closed_port().await);
        let config = NotifyConfig {
            channels: vec![webhook("dead", &dead, None)],
            routes: vec![every(&["dead"])],
            digests: Vec::new(),
            delivery: Delivery {
                max_attempts: 10,
                initial_backoff: Duration::from_millis(200),
                max_backoff: Duration::from_secs(10),
                give_up_after: Duration::from_millis(500),
                ..Delivery::default()
            },
        };
        let log = Arc::new(Collect::default());
        let notifier =
            Notifier::start(&config, Some(log.clone() as Arc<dyn DeliveryLog>), None).unwrap();
        notifier.send(notice(1));
        assert!(notifier.drain(Duration::from_secs(30)).await);
        // Try 1 at ~0 ms retries after 200 ms; after try 2 (at 200 ms or later) the wait of
        // 400 ms would end past the 500 ms limit: it is the last.
        let retries: Vec<bool> = log
            .of("dead")
            .iter()
            .map(|a| match &a.outcome {
                AttemptOutcome::Failed { will_retry, .. } => *will_retry,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(retries, [true, false]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_drops_its_oldest_message_and_never_waits() {
        let sink = Sink::start(false).await;
        let config = NotifyConfig {
            channels: vec![webhook("slow", &sink.url, None)],
            routes: vec![every(&["slow"])],
            digests: Vec::new(),
            delivery: Delivery {
                queue_capacity: 2,
                ..Delivery::default()
            },
        };
        let log = Arc::new(Collect::default());
        let metrics = Arc::new(Metrics::new());
        let notifier = Notifier::start(
            &config,
            Some(log.clone() as Arc<dyn DeliveryLog>),
            Some(Arc::clone(&metrics)),
        )
        .unwrap();
        notifier.send(notice(1));
        sink.wait_for(1).await;
        for id in 2..=5 {
            assert_eq!(notifier.send(notice(id)), ["slow"]);
        }
        assert!(!notifier.drain(Duration::from_millis(100)).await);
        sink.gate.add_permits(10);
        assert!(notifier.drain(Duration::from_secs(30)).await);
        let delivered: Vec<i64> = sink
            .bodies()
            .iter()
            .map(|body| body["notice"]["alert_id"].as_i64().unwrap())
            .collect();
        assert_eq!(delivered, [1, 4, 5]);
        // Drops are recorded by tasks of their own: in any order.
        let mut dropped: Vec<i64> = log
            .of("slow")
            .into_iter()
            .filter(|a| a.outcome == AttemptOutcome::Dropped && a.attempt == 0)
            .map(|a| match a.subject {
                Subject::Notice { alert_id, .. } => alert_id,
                Subject::Digest { .. } => panic!("no digest was sent"),
            })
            .collect();
        dropped.sort_unstable();
        assert_eq!(dropped, [2, 3]);
        assert!(
            metrics
                .render()
                .contains("tlsrpt_alert_deliveries_total{channel=\"slow\",outcome=\"dropped\"} 2")
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn routes_choose_channels_and_digests_carry_the_recipients_domains() {
        let sink = Sink::start(true).await;
        let chat = |name: &str, service| Channel {
            name: name.to_owned(),
            target: Target::Chat {
                service,
                url: sink.url.clone(),
            },
        };
        let pattern = |p: &str| match p.strip_prefix("*.") {
            Some(parent) => DomainPattern::SubdomainsOf(parent.to_owned()),
            None => DomainPattern::Exact(p.to_owned()),
        };
        let config = NotifyConfig {
            channels: vec![
                chat("pager", ChatService::Slack),
                chat("team", ChatService::Teams),
                Channel {
                    name: "archive".to_owned(),
                    target: Target::Webhook(WebhookTarget {
                        url: sink.url.clone(),
                        secret: None,
                    }),
                },
            ],
            routes: vec![
                Route {
                    domains: vec![pattern("example.com")],
                    min_severity: Severity::High,
                    kinds: vec![NoticeKind::Opened],
                    channels: vec!["pager".to_owned()],
                },
                Route {
                    domains: vec![pattern("*.example.net")],
                    min_severity: Severity::Low,
                    kinds: vec![NoticeKind::Opened, NoticeKind::Resolved],
                    channels: vec!["team".to_owned()],
                },
            ],
            digests: vec![DigestRecipient {
                channel: "archive".to_owned(),
                schedule: DigestSchedule::Weekly,
                domains: vec![pattern("example.org")],
            }],
            delivery: Delivery::default(),
        };
        let notifier = Notifier::start(&config, None, None).unwrap();
        let mut medium = notice(1);
        medium.alert.severity = Severity::Medium;
        assert!(notifier.send(medium).is_empty());
        let mut resolved = notice(2);
        resolved.kind = NoticeKind::Resolved;
        assert!(notifier.send(resolved.clone()).is_empty());
        resolved.alert.domain = "mx.example.net".to_owned();
        assert_eq!(notifier.send(resolved), ["team"]);
        assert_eq!(notifier.send(notice(3)), ["pager"]);

        let line = |domain: &str| DigestDomain {
            domain: domain.to_owned(),
            status: "ok".to_owned(),
            sessions: 10,
            failed_sessions: 0,
            success_rate: Some(100.0),
            open_alerts: Vec::new(),
            link: None,
        };
        let day = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        let digest = Digest {
            from: day,
            to: day + chrono::Days::new(6),
            domains: vec![line("example.com"), line("example.org")],
        };
        assert!(
            notifier
                .send_digests(DigestSchedule::Daily, &digest)
                .is_empty()
        );
        assert_eq!(
            notifier.send_digests(DigestSchedule::Weekly, &digest),
            ["archive"]
        );
        assert!(notifier.drain(Duration::from_secs(30)).await);
        let bodies = sink.bodies();
        assert_eq!(bodies.len(), 3);
        let teams = bodies.iter().find(|b| b["@type"] == "MessageCard").unwrap();
        assert!(
            teams["title"]
                .as_str()
                .unwrap()
                .starts_with("\\[tlsrpt-hub\\] RESOLVED mx.example.net")
        );
        let slack = bodies
            .iter()
            .find(|b| b.get("attachments").is_some())
            .unwrap();
        assert!(
            slack["text"]
                .as_str()
                .unwrap()
                .starts_with("[tlsrpt-hub] CRITICAL example.com")
        );
        let digest = bodies.iter().find(|b| b["type"] == "digest").unwrap();
        assert_eq!(digest["digest"]["domains"].as_array().unwrap().len(), 1);
        assert_eq!(digest["digest"]["domains"][0]["domain"], "example.org");
    }
}
