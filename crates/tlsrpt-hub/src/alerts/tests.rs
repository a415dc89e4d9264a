//! The engine against a real SQLite store, with an injected clock and a recording sink.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use tlsrpt_analyze::{Digest, Notice, NoticeKind, Rule};
use tlsrpt_store::{AlertFilter, AlertState, Origin, Store};

use super::digest::Period;
use super::task::Task;
use super::{Clock, Engine, NoticeSink};
use crate::config::AlertsConfig;
use crate::ingest::Submission;

const DOMAIN: &str = "example.com";

#[derive(Default)]
struct Recorder {
    notices: Mutex<Vec<Notice>>,
    digests: Mutex<Vec<(Period, Digest)>>,
}

impl NoticeSink for Recorder {
    fn notice(&self, notice: Notice) {
        self.notices.lock().unwrap().push(notice);
    }
    fn digest(&self, schedule: Period, digest: Digest) {
        self.digests.lock().unwrap().push((schedule, digest));
    }
}

struct FakeClock(Mutex<DateTime<Utc>>);

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

struct World {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    clock: Arc<FakeClock>,
    sink: Arc<Recorder>,
    engine: Engine,
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

impl World {
    async fn new(config: AlertsConfig) -> World {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            Store::open(dir.path().join("t.db").to_str().unwrap())
                .await
                .unwrap(),
        );
        let clock = Arc::new(FakeClock(Mutex::new(at(day(1), 9))));
        let sink = Arc::new(Recorder::default());
        let engine = Engine::new(
            Arc::clone(&store),
            config,
            Arc::clone(&sink) as Arc<dyn NoticeSink>,
            Arc::clone(&clock) as Arc<dyn Clock>,
        );
        World {
            _dir: dir,
            store,
            clock,
            sink,
            engine,
        }
    }

    fn set_now(&self, now: DateTime<Utc>) {
        *self.clock.0.lock().unwrap() = now;
    }

    /// A report by `org` for `day`: `ok` successful sessions and `failed` sessions of
    /// `result` at `mx`.
    async fn report(&self, org: &str, day: NaiveDate, ok: u64, failure: Option<(&str, u64, &str)>) {
        let details = match failure {
            Some((result, count, mx)) => format!(
                r#"[{{"result-type":"{result}","sending-mta-ip":"192.0.2.1","receiving-mx-hostname":"{mx}","failed-session-count":{count}}}]"#
            ),
            None => "[]".to_owned(),
        };
        let failed = failure.map_or(0, |f| f.1);
        let json = format!(
            r#"{{"organization-name":"{org}","date-range":{{"start-datetime":"{day}T00:00:00Z","end-datetime":"{day}T23:59:59Z"}},"contact-info":"tlsrpt@{org}","report-id":"{org}-{day}","policies":[{{"policy":{{"policy-type":"sts","policy-string":["version: STSv1","mode: enforce","mx: mx1.example.com","max_age: 86400"],"policy-domain":"{DOMAIN}","mx-host":["mx1.example.com"]}},"summary":{{"total-successful-session-count":{ok},"total-failure-session-count":{failed}}},"failure-details":{details}}}]}}"#
        );
        let prepared = crate::pipeline::prepare(
            Submission {
                raw: json.into_bytes(),
                origin: Origin::File,
                source_name: format!("{org}-{day}.json"),
                received_at: self.engine.now(),
            },
            &Default::default(),
        );
        assert!(prepared.rejections.is_empty(), "{:?}", prepared.rejections);
        self.store.insert(prepared.new.unwrap()).await.unwrap();
    }

    async fn clean_days(&self, org: &str, from: u32, to: u32) {
        for d in from..=to {
            self.report(org, day(d), 100, None).await;
        }
    }

    async fn evaluate(&self) -> Vec<(NoticeKind, Rule)> {
        self.engine
            .evaluate(DOMAIN)
            .await
            .unwrap()
            .iter()
            .map(|n| (n.kind, n.alert.rule))
            .collect()
    }

    async fn open(&self) -> Vec<tlsrpt_store::StoredAlert> {
        self.store
            .alerts(&AlertFilter {
                state: Some(AlertState::Open),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap()
    }
}

fn at(day: NaiveDate, hour: u32) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(hour, 0, 0).unwrap())
}

/// Only the certificate rule, so the other rules' reactions to the same data stay out.
fn certificate_only() -> AlertsConfig {
    let mut config = AlertsConfig::default();
    config.rules.disabled = Rule::ALL
        .into_iter()
        .filter(|r| *r != Rule::CertificateFailure)
        .collect();
    config.public_url = Some("https://tlsrpt.example.net".into());
    config
}

#[tokio::test]
async fn an_expired_certificate_opens_once_and_resolves_after_clean_reports() {
    let w = World::new(certificate_only()).await;
    w.clean_days("google.com", 1, 9).await;
    w.report(
        "google.com",
        day(10),
        90,
        Some(("certificate-expired", 10, "mx2.example.com")),
    )
    .await;
    w.set_now(at(day(11), 9));
    let notices = w.engine.evaluate(DOMAIN).await.unwrap();
    assert_eq!(notices.len(), 1, "{notices:#?}");
    let notice = &notices[0];
    assert_eq!(notice.kind, NoticeKind::Opened);
    assert!(
        notice.alert.title.contains("mx2.example.com"),
        "{}",
        notice.alert.title
    );
    assert_eq!(notice.alert.evidence.organizations, ["google.com"]);
    assert_eq!(
        notice.link.as_deref(),
        Some("https://tlsrpt.example.net/domains/example.com")
    );
    assert_eq!(
        w.sink.notices.lock().unwrap().len(),
        1,
        "handed to the sink"
    );

    w.set_now(at(day(11), 10));
    assert_eq!(w.evaluate().await, [], "still open: no second notice");
    assert_eq!(w.open().await.len(), 1);

    w.report("google.com", day(11), 100, None).await;
    w.set_now(at(day(12), 9));
    assert_eq!(
        w.evaluate().await,
        [(NoticeKind::Resolved, Rule::CertificateFailure)]
    );
    assert!(w.open().await.is_empty());
    assert_eq!(w.evaluate().await, []);
}

#[tokio::test]
async fn a_problem_back_within_the_cooldown_reopens_silently_until_it_outlasts_it() {
    let w = World::new(certificate_only()).await;
    w.clean_days("google.com", 1, 9).await;
    let expired = Some(("certificate-expired", 10, "mx2.example.com"));
    w.report("google.com", day(10), 90, expired).await;
    w.set_now(at(day(11), 9));
    assert_eq!(w.evaluate().await.len(), 1);
    w.report("google.com", day(11), 100, None).await;
    w.set_now(at(day(12), 9));
    assert_eq!(
        w.evaluate().await,
        [(NoticeKind::Resolved, Rule::CertificateFailure)]
    );

    w.report("google.com", day(12), 90, expired).await;
    w.set_now(at(day(12), 12));
    assert_eq!(w.evaluate().await, [], "within the 24 h cooldown");
    let reopened = w.open().await;
    assert_eq!(reopened.len(), 1, "state is kept even when not notified");
    assert_eq!(reopened[0].last_notified_at, None);

    w.set_now(at(day(13), 11));
    assert_eq!(
        w.evaluate().await,
        [],
        "still within the cooldown after re-opening"
    );
    w.set_now(at(day(13), 12));
    assert_eq!(
        w.evaluate().await,
        [(NoticeKind::Opened, Rule::CertificateFailure)],
        "it outlasted the cooldown"
    );
    assert_eq!(w.evaluate().await, []);
}

#[tokio::test]
async fn reminders_stop_when_acknowledged_and_muted_alerts_stay_quiet() {
    let w = World::new(certificate_only()).await;
    w.clean_days("google.com", 1, 9).await;
    let expired = Some(("certificate-expired", 10, "mx2.example.com"));
    w.report("google.com", day(10), 90, expired).await;
    w.set_now(at(day(11), 9));
    assert_eq!(w.evaluate().await.len(), 1);
    w.report("google.com", day(11), 90, expired).await;
    w.set_now(at(day(12), 9));
    assert_eq!(
        w.evaluate().await,
        [(NoticeKind::Opened, Rule::CertificateFailure)],
        "a reminder a day later"
    );
    let id = w.open().await[0].id;
    w.store
        .acknowledge_alert(id, "admin", w.engine.now())
        .await
        .unwrap();
    w.set_now(at(day(14), 9));
    assert_eq!(w.evaluate().await, [], "acknowledged: no more reminders");

    w.store.mute_alert(id, Some(at(day(20), 0))).await.unwrap();
    w.report("google.com", day(14), 100, None).await;
    w.set_now(at(day(15), 9));
    assert_eq!(w.evaluate().await, [], "muted: resolved without a notice");
    assert!(w.open().await.is_empty());
}

#[tokio::test]
async fn digests_go_out_once_per_period_with_problem_domains_first() {
    let mut config = AlertsConfig::default();
    config.rules.disabled = [Rule::NewResultType, Rule::NewSendingIp].into();
    let w = World::new(config).await;
    w.clean_days("google.com", 1, 9).await;
    w.report(
        "google.com",
        day(10),
        90,
        Some(("certificate-expired", 10, "mx2.example.com")),
    )
    .await;
    w.set_now(at(day(11), 8));
    w.engine.evaluate(DOMAIN).await.unwrap();
    let task = Task {
        engine: Arc::new(Engine::new(
            Arc::clone(&w.store),
            w.engine.config().clone(),
            Arc::clone(&w.sink) as Arc<dyn NoticeSink>,
            Arc::clone(&w.clock) as Arc<dyn Clock>,
        )),
        configured: vec!["quiet.example".into()],
        digests: vec![Period::Daily],
    };
    // Started at 08:00 on day 11: the 07:00 digest of that day counts as sent.
    let mut sent = vec![super::digest::last_due(
        w.engine.now(),
        Period::Daily,
        7,
        chrono::Weekday::Mon,
    )];
    w.set_now(at(day(12), 6));
    task.send_digests(&mut sent).await;
    assert!(
        w.sink.digests.lock().unwrap().is_empty(),
        "not due before 07:00"
    );
    w.set_now(at(day(12), 7));
    task.send_digests(&mut sent).await;
    task.send_digests(&mut sent).await;
    let digests = w.sink.digests.lock().unwrap().clone();
    assert_eq!(digests.len(), 1, "once per period");
    let (schedule, digest) = &digests[0];
    assert_eq!(*schedule, Period::Daily);
    assert_eq!((digest.from, digest.to), (day(11), day(11)));
    let names: Vec<&str> = digest.domains.iter().map(|d| d.domain.as_str()).collect();
    assert_eq!(names, [DOMAIN, "quiet.example"], "problem domain first");
    assert_eq!(
        digest.domains[0].open_alerts[0].rule,
        Rule::CertificateFailure
    );
    assert_eq!(digest.domains[1].status, "silent");
}
