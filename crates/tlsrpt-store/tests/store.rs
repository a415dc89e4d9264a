//! Store behaviour, every test against both backends: a real SQLite file in a temporary
//! directory and a real PostgreSQL (a throwaway cluster per test process, a fresh database
//! per test; see support/pg.rs).

#[path = "support/pg.rs"]
mod pg;
#[path = "support/rng.rs"]
mod rng;

use rng::Rng;
use std::net::IpAddr;

use chrono::{DateTime, Duration, TimeZone, Utc};
use tempfile::TempDir;
use tlsrpt_core::extract::MessageMeta;
use tlsrpt_core::report::dedup_key;
use tlsrpt_core::{
    DateRange, Diagnostic, DiagnosticCode, FailureDetail, IpValue, ParsedReport, Policy,
    PolicyResult, PolicyType, Report, ResultType, Summary,
};
use tlsrpt_store::{
    AuthResult, Authentication, NewReport, NewSubmission, Origin, RawBlob, RawEncoding,
    ReportOutcome, RollupFilter, Store, StoreCounts, StoreError, SubmissionId,
};

// ---------------------------------------------------------------- builders

fn day(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, d, 0, 0, 0).unwrap()
}

fn detail(result_type: ResultType, count: u64) -> FailureDetail {
    FailureDetail {
        result_type,
        sending_mta_ip: Some(IpValue::Addr("192.0.2.1".parse().unwrap())),
        receiving_mx_hostname: Some("mx1.example.com".into()),
        receiving_mx_helo: None,
        receiving_ip: Some(IpValue::Addr("2001:db8::25".parse().unwrap())),
        failed_session_count: count,
        additional_information: None,
        failure_reason_code: None,
    }
}

fn policy(
    policy_type: PolicyType,
    domain: Option<&str>,
    ok: u64,
    failed: u64,
    details: Vec<FailureDetail>,
) -> PolicyResult {
    PolicyResult {
        policy: Policy {
            policy_type,
            policy_string: vec!["version: STSv1".into(), "mode: enforce".into()],
            policy_domain: domain.map(str::to_owned),
            mx_host: vec!["*.mail.example.com".into()],
        },
        summary: Summary {
            total_successful_session_count: ok,
            total_failure_session_count: failed,
        },
        failure_details: details,
    }
}

fn report(org: &str, id: &str, start: DateTime<Utc>, policies: Vec<PolicyResult>) -> NewReport {
    NewReport {
        parsed: ParsedReport {
            report: Report {
                organization_name: Some(org.into()),
                date_range: DateRange {
                    start,
                    end: start + Duration::days(1),
                    start_raw: start.to_rfc3339(),
                    end_raw: (start + Duration::days(1)).to_rfc3339(),
                },
                contact_info: Some(format!("tlsrpt@{org}")),
                report_id: Some(id.into()),
                policies,
            },
            diagnostics: Vec::new(),
        },
        message: None,
        file_name: None,
        parser_version: "test-1".into(),
    }
}

/// A one-policy report for `example.com`.
fn simple(org: &str, id: &str, d: u32, ok: u64, failed: u64) -> NewReport {
    let details = if failed > 0 {
        vec![detail(ResultType::CertificateExpired, failed)]
    } else {
        Vec::new()
    };
    report(
        org,
        id,
        day(d),
        vec![policy(
            PolicyType::Sts,
            Some("example.com"),
            ok,
            failed,
            details,
        )],
    )
}

fn submission(reports: Vec<NewReport>) -> NewSubmission {
    NewSubmission {
        raw: RawBlob::compress(format!("raw bytes of {} reports", reports.len()).as_bytes()),
        origin: Origin::File,
        source_name: Some("/var/spool/tlsrpt/in.json".into()),
        received_at: Utc.with_ymd_and_hms(2024, 5, 20, 12, 0, 0).unwrap(),
        authentication: Authentication::bare(AuthResult::NotChecked),
        quarantined: false,
        reports,
    }
}

fn all() -> RollupFilter {
    RollupFilter::default()
}

fn domain(d: &str) -> RollupFilter {
    RollupFilter {
        policy_domain: Some(d.into()),
        ..RollupFilter::default()
    }
}

fn key(r: &NewReport) -> String {
    dedup_key(&r.parsed.report)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// Where a test's store lives; keeps a SQLite file's directory alive.
struct Fixture {
    url: String,
    _dir: Option<TempDir>,
}

impl Fixture {
    fn new(backend: Backend) -> Fixture {
        match backend {
            Backend::Sqlite => {
                let dir = TempDir::new().unwrap();
                Fixture {
                    url: dir.path().join("store.db").to_str().unwrap().to_owned(),
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => Fixture {
                url: pg::Cluster::shared().fresh_database(),
                _dir: None,
            },
        }
    }

    /// Runs SQL on the database behind the store's back (to damage it on purpose).
    async fn execute(&self, sql: &str) {
        use sqlx::Connection;
        if self._dir.is_some() {
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", self.url))
                .await
                .unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .unwrap();
            conn.close().await.unwrap();
        } else {
            let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .unwrap();
            conn.close().await.unwrap();
        }
    }
}

async fn open(backend: Backend) -> (Fixture, Store) {
    let fixture = Fixture::new(backend);
    let store = Store::open(&fixture.url).await.unwrap();
    (fixture, store)
}

/// Runs each named `async fn(Backend)` as one test per backend: `sqlite::name` and
/// `postgres::name`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Backend::Sqlite).await
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Backend::Postgres).await
            })*
        }
    };
}

on_both_backends!(
    every_field_reads_back,
    ipv4_mapped_and_plain_ips_read_back_as_addresses,
    duplicates_in_and_across_batches_are_counted_not_stored,
    same_report_twice_in_one_submission,
    submission_without_reports_stores_nothing,
    rollups_equal_rebuild_after_random_inserts,
    rollups_filter_by_domain_and_day_range,
    rollups_of_an_empty_store_are_empty,
    repeated_identical_policy_counts_the_report_once,
    check_integrity_names_a_rollup_difference,
    replace_reports_swaps_reports_and_keeps_rollups_exact,
    random_replacements_keep_rollups_equal_to_rebuild,
    replace_reports_of_unknown_submission_is_refused,
    submissions_page_in_id_order,
    count_beyond_i64_is_refused_by_name_and_writes_nothing,
    prepare_refuses_early_and_insert_prepared_stores,
    i64_max_is_stored_exactly,
    rollup_overflow_rolls_back_the_whole_transaction,
    reopen_keeps_data_and_migrations_are_idempotent,
    concurrent_stores_store_each_report_once,
    prune_removes_old_reports_and_keeps_rollups_exact,
    domain_checks_keep_the_latest_run_and_its_changes,
    web_sessions_are_shared_keyed_by_hash_expire_and_end,
    one_open_alert_per_domain_and_rule_with_its_lifecycle,
    quarantined_reports_are_stored_but_left_out_of_rollups,
);

async fn insert_ok(store: &Store, sub: NewSubmission) -> tlsrpt_store::SubmissionOutcome {
    store.insert(sub).await.unwrap()
}

fn stored_id(outcome: &ReportOutcome) -> tlsrpt_store::ReportId {
    match outcome {
        ReportOutcome::Stored { id } => *id,
        other => panic!("expected Stored, got {other:?}"),
    }
}

fn random_report(rng: &mut Rng) -> NewReport {
    let orgs = ["google.com", "microsoft.com", "mail.ru", ""];
    let domains = [Some("example.com"), Some("example.net"), None];
    let types = [PolicyType::Sts, PolicyType::Tlsa, PolicyType::NoPolicyFound];
    let results = [
        ResultType::CertificateExpired,
        ResultType::StsPolicyFetchError,
        ResultType::Other("future-type".into()),
    ];
    let policies = (0..1 + rng.below(3))
        .map(|_| {
            let details = (0..rng.below(4))
                .map(|_| detail(rng.pick(&results).clone(), rng.below(50)))
                .collect();
            policy(
                rng.pick(&types).clone(),
                *rng.pick(&domains),
                rng.below(1000),
                rng.below(100),
                details,
            )
        })
        .collect();
    let org = *rng.pick(&orgs);
    let mut r = report(
        org,
        &format!("id-{}", rng.below(4)),
        day(1 + rng.below(5) as u32),
        policies,
    );
    if r.parsed.report.organization_name.as_deref() == Some("") {
        r.parsed.report.organization_name = None;
    }
    r
}

// ---------------------------------------------------------------- round trip

async fn every_field_reads_back(backend: Backend) {
    let (_fx, store) = open(backend).await;
    let start = Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap() + Duration::microseconds(250);
    let big = (1u64 << 40) + 7;
    let mut new = report(
        "Example Org",
        "2024-05-01T00:00:00Z_example.com",
        start,
        vec![
            policy(
                PolicyType::Sts,
                Some("example.com"),
                big,
                big + 1,
                vec![
                    FailureDetail {
                        result_type: ResultType::Other("brand-new-type".into()),
                        sending_mta_ip: Some(IpValue::Addr("2001:db8:abcd:12::1".parse().unwrap())),
                        receiving_mx_hostname: Some("mx.example.com".into()),
                        receiving_mx_helo: Some("mx.example.com ESMTP".into()),
                        receiving_ip: Some(IpValue::Unparsed("[not an ip]".into())),
                        failed_session_count: big + 2,
                        additional_information: Some("https://example.com/chain.pem".into()),
                        failure_reason_code: Some("X509_V_ERR_CERT_HAS_EXPIRED".into()),
                    },
                    FailureDetail {
                        result_type: ResultType::Other(String::new()),
                        sending_mta_ip: None,
                        receiving_mx_hostname: None,
                        receiving_mx_helo: None,
                        receiving_ip: None,
                        failed_session_count: 0,
                        additional_information: None,
                        failure_reason_code: None,
                    },
                ],
            ),
            PolicyResult {
                policy: Policy {
                    policy_type: PolicyType::Other("x-custom".into()),
                    policy_string: Vec::new(),
                    policy_domain: None,
                    mx_host: Vec::new(),
                },
                summary: Summary::default(),
                failure_details: Vec::new(),
            },
        ],
    );
    new.parsed.report.contact_info = None;
    new.parsed.diagnostics = vec![
        Diagnostic::new(
            DiagnosticCode::DateWithoutOffset,
            "date-range.start-datetime",
            "no offset",
        ),
        Diagnostic::new(
            DiagnosticCode::HeaderMismatch,
            "TLS-Report-Domain",
            "differs",
        ),
    ];
    new.message = Some(MessageMeta {
        tls_report_domain: Some("example.com".into()),
        tls_report_submitter: Some("example.org".into()),
        subject_report_id: Some("rid@example.org".into()),
        message_id: Some("<m1@example.org>".into()),
        from: Some("reports@example.org".into()),
        subject: Some("Report Domain: example.com".into()),
        date: Some("Wed, 1 May 2024 00:00:00 +0000".into()),
    });
    new.file_name = Some("example.org!example.com!1714521600!1714608000.json.gz".into());
    let expected = new.clone();
    let raw = br#"{"organization-name":"Example Org"}"#.repeat(20);
    let received_at =
        Utc.with_ymd_and_hms(2024, 5, 2, 3, 4, 5).unwrap() + Duration::microseconds(6);
    let authentication = Authentication {
        result: AuthResult::Fail,
        domain: Some("mail.example.net".into()),
        reason: Some("body hash does not match".into()),
    };
    let outcome = insert_ok(
        &store,
        NewSubmission {
            raw: RawBlob::compress(&raw),
            origin: Origin::Smtp,
            source_name: Some("[2001:db8::1]:25".into()),
            received_at,
            authentication: authentication.clone(),
            quarantined: false,
            reports: vec![new],
        },
    )
    .await;
    let id = stored_id(&outcome.reports[0]);

    let stored = store
        .report_by_dedup_key(&key(&expected))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.id, id);
    assert_eq!(Some(stored.submission_id), outcome.submission_id);
    assert_eq!(stored.parsed, expected.parsed);
    assert_eq!(stored.message, expected.message);
    assert_eq!(stored.file_name, expected.file_name);
    assert_eq!(stored.parser_version, "test-1");
    assert_eq!(stored.duplicate_count, 0);
    assert_eq!(stored.last_duplicate_at, None);
    assert!(stored.stored_at > received_at);
    assert_eq!(stored.authentication, authentication);
    assert!(!stored.quarantined);

    let subs = store.submissions(None, 10).await.unwrap();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].id, outcome.submission_id.unwrap());
    assert_eq!(subs[0].origin, Origin::Smtp);
    assert_eq!(subs[0].source_name.as_deref(), Some("[2001:db8::1]:25"));
    assert_eq!(subs[0].received_at, received_at);
    assert_eq!(subs[0].raw, raw);

    assert_eq!(
        store.counts().await.unwrap(),
        StoreCounts {
            submissions: 1,
            reports: 1,
            policies: 2,
            failure_details: 2,
            diagnostics: 2,
            duplicates_seen: 0,
        }
    );
    let rollups = store
        .daily_policy_rollups(&domain("example.com"))
        .await
        .unwrap();
    assert_eq!(rollups.len(), 1);
    assert_eq!(rollups[0].successful, big);
    assert_eq!(rollups[0].failed, big + 1);
    assert_eq!(rollups[0].day, start.date_naive());
    let no_domain = store.daily_policy_rollups(&domain("")).await.unwrap();
    assert_eq!(
        no_domain[0].policy_type,
        PolicyType::Other("x-custom".into())
    );
    let failures = store.daily_failure_rollups(&all()).await.unwrap();
    assert_eq!(failures.len(), 2);
    assert!(failures.iter().any(
        |f| f.result_type == ResultType::Other("brand-new-type".into())
            && f.failed_sessions == big + 2
    ));
    store.check_integrity().await.unwrap();
    assert!(
        store
            .report_by_dedup_key("no-such-key")
            .await
            .unwrap()
            .is_none()
    );
}

async fn ipv4_mapped_and_plain_ips_read_back_as_addresses(backend: Backend) {
    let (_fx, store) = open(backend).await;
    let mut r = simple("a.example", "ips", 1, 1, 1);
    let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
    r.parsed.report.policies[0].failure_details[0].sending_mta_ip = Some(IpValue::Addr(mapped));
    let expected = r.parsed.clone();
    insert_ok(&store, submission(vec![r])).await;
    let stored = store
        .report_by_dedup_key(&dedup_key(&expected.report))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.parsed, expected);
}

// ---------------------------------------------------------------- raw blobs

#[test]
fn raw_blob_compresses_plain_and_keeps_compressed() {
    let json = br#"{"policies":[]}"#.repeat(100);
    let blob = RawBlob::compress(&json);
    assert_eq!(blob.encoding(), RawEncoding::Gzip);
    assert!(blob.stored().len() < json.len());
    assert_eq!(blob.original_size(), json.len() as u64);
    assert_eq!(blob.decompress().unwrap(), json);

    let gz = blob.stored().to_vec();
    let kept = RawBlob::compress(&gz);
    assert_eq!(kept.encoding(), RawEncoding::AsReceived);
    assert_eq!(kept.stored(), gz.as_slice());
    assert_eq!(kept.decompress().unwrap(), gz);

    let zip = b"PK\x03\x04rest of a zip archive".to_vec();
    assert_eq!(RawBlob::compress(&zip).encoding(), RawEncoding::AsReceived);
}

// ---------------------------------------------------------------- duplicates

async fn duplicates_in_and_across_batches_are_counted_not_stored(backend: Backend) {
    let (_fx, store) = open(backend).await;
    let r = simple("google.com", "r1", 1, 10, 2);
    let mut later = submission(vec![r.clone()]);
    later.received_at += Duration::hours(1);
    let outcomes = store
        .insert_batch(vec![submission(vec![r.clone()]), later])
        .await
        .unwrap();
    let first = outcomes[0].as_ref().unwrap();
    let second = outcomes[1].as_ref().unwrap();
    let id = stored_id(&first.reports[0]);
    assert!(first.submission_id.is_some());
    assert_eq!(
        second.submission_id, None,
        "all-duplicate submission stores no raw"
    );
    assert_eq!(
        second.reports,
        vec![ReportOutcome::Duplicate { existing_id: id }]
    );

    let mut third = submission(vec![r.clone(), simple("google.com", "r2", 1, 5, 0)]);
    third.received_at += Duration::hours(2);
    let third_at = third.received_at;
    let outcome = insert_ok(&store, third).await;
    assert!(
        outcome.submission_id.is_some(),
        "one new report: raw stored"
    );
    assert_eq!(
        outcome.reports[0],
        ReportOutcome::Duplicate { existing_id: id }
    );
    stored_id(&outcome.reports[1]);

    let again = insert_ok(&store, submission(vec![r.clone()])).await;
    assert_eq!(again.submission_id, None);

    let stored = store.report_by_dedup_key(&key(&r)).await.unwrap().unwrap();
    assert_eq!(stored.duplicate_count, 3);
    assert_eq!(
        stored.last_duplicate_at,
        Some(third_at),
        "latest receipt, not last processed"
    );
    let counts = store.counts().await.unwrap();
    assert_eq!(
        (counts.submissions, counts.reports, counts.duplicates_seen),
        (2, 2, 3)
    );
    // Duplicates add nothing to rollups.
    let rollups = store.daily_policy_rollups(&all()).await.unwrap();
    assert_eq!((rollups[0].successful, rollups[0].reports), (15, 2));
    store.check_integrity().await.unwrap();
}

async fn same_report_twice_in_one_submission(backend: Backend) {
    let (_fx, store) = open(backend).await;
    let r = simple("mail.ru", "twice", 3, 1, 0);
    let outcome = insert_ok(&store, submission(vec![r.clone(), r.clone()])).await;
    let id = stored_id(&outcome.reports[0]);
    assert_eq!(
        outcome.reports[1],
        ReportOutcome::Duplicate { existing_id: id }
    );
    let stored = store.report_by_dedup_key(&key(&r)).await.unwrap().unwrap();
    assert_eq!(stored.duplicate_count, 1);
}

async fn submission_without_reports_stores_nothing(backend: Backend) {
    let (_fx, store) = open(backend).await;
    let outcome = insert_ok(&store, submission(Vec::new())).await;
    assert_eq!(outcome.submission_id, None);
    assert!(outcome.reports.is_empty());
    assert_eq!(store.counts().await.unwrap(), StoreCounts::default());
}

// ---------------------------------------------------------------- rollups

async fn rollups_equal_rebuild_after_random_inserts(backend: Backend) {
    let (_fx, store) = open(backend).await;
    let mut rng = Rng(0x5eed);
    for _ in 0..8 {
        let batch = (0..1 + rng.below(12))
            .map(|_| {
                submission(
                    (0..1 + rng.below(3))
                        .map(|_| random_report(&mut rng))
                        .collect(),
                )
            })
            .collect();
        for outcome in store.insert_batch(batch).await.unwrap() {
            outcome.unwrap();
        }
    }
    let counts = store.counts().await.unwrap();
    assert!(
        counts.duplicates_seen > 0,
        "the generator should produce duplicates"
    );
    store.check_integrity().await.unwrap();
    let policy = store.daily_policy_rollups(&all()).await.unwrap();
    let failure = store.daily_failure_rollups(&all()).await.unwrap();
    assert!(!failure.is_empty());
    store.rebuild_rollups().await.unwrap();
    assert_eq!(store.daily_policy_rollups(&all()).await.unwrap(), policy);
    assert_eq!(store.daily_failure_rollups(&all()).await.unwrap(), failure);
    let one = store
        .daily_policy_rollups(&domain("example.net"))
        .await
        .unwrap();
    assert!(!one.is_empty() && one.iter().all(|r| r.policy_domain == "example.net"));
}

async fn rollups_filter_by_domain_and_day_range(backend: Backend) {
    let (_fx, store) = open(backend).await;
    for d in 1..=5 {
        let other = report(
            "o",
            &format!("n{d}"),
            day(d),
            vec![policy(
                PolicyType::Sts,
                Some("example.net"),
                1,
                0,
                Vec::new(),
            )],
        );
        insert_ok(
            &store,
            submission(vec![simple("o", &format!("c{d}"), d, d.into(), 1), other]),
        )
        .await;
    }
    let range = |policy_domain: Option<&str>, from: Option<u32>, to: Option<u32>| RollupFilter {
        policy_domain: policy_domain.map(str::to_owned),
        from: from.map(|d| day(d).date_naive()),
        to: to.map(|d| day(d).date_naive()),
    };
    let days = |rows: Vec<tlsrpt_store::DailyPolicyRollup>| -> Vec<(u32, String)> {
        use chrono::Datelike;
        rows.into_iter()
            .map(|r| (r.day.day(), r.policy_domain))
            .collect()
    };
    let got = days(
        store
            .daily_policy_rollups(&range(Some("example.com"), Some(2), Some(3)))
            .await
            .unwrap(),
    );
    assert_eq!(
        got,
        vec![(2, "example.com".into()), (3, "example.com".into())]
    );
    let got = days(
        store
            .daily_policy_rollups(&range(Some("example.com"), Some(4), None))
            .await
            .unwrap(),
    );
    assert_eq!(
        got,
        vec![(4, "example.com".into()), (5, "example.com".into())]
    );
    let got = days(
        store
            .daily_policy_rollups(&range(Some("example.net"), None, Some(1)))
            .await
            .unwrap(),
    );
    assert_eq!(got, vec![(1, "example.net".into())]);
    let got = days(
        store
            .daily_policy_rollups(&range(None, Some(5), Some(5)))
            .await
            .unwrap(),
    );
    assert_eq!(
        got,
        vec![(5, "example.com".into()), (5, "example.net".into())]
    );
    assert_eq!(store.daily_policy_rollups(&all()).await.unwrap().len(), 10);
    assert!(
        store
            .daily_policy_rollups(&domain("nowhere.example"))
            .await
            .unwrap()
            .is_empty()
    );
    let failures = store
        .daily_failure_rollups(&range(Some("example.com"), Some(3), Some(3)))
        .await
        .unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].result_type, ResultType::CertificateExpired);
}

async fn rollups_of_an_empty_store_are_empty(backend: Backend) {
    let (_fx, store) = open(backend).await;
    assert!(
        store
            .daily_policy_rollups(&domain("example.com"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .daily_failure_rollups(&all())
            .await
            .unwrap()
            .is_empty()
    );
    store.check_integrity().await.unwrap();
}

async fn repeated_identical_policy_counts_the_report_once(backend: Backend) {
    let (_fx, store) = open(backend).await;
    let p = policy(PolicyType::Sts, Some("example.com"), 3, 0, Vec::new());
    insert_ok(
        &store,
        submission(vec![report("o", "rep", day(2), vec![p.clone(), p])]),
    )
    .await;
    let rollups = store.daily_policy_rollups(&all()).await.unwrap();
    assert_eq!((rollups[0].successful, rollups[0].reports), (6, 1));
    store.check_integrity().await.unwrap();
}

async fn check_integrity_names_a_rollup_difference(backend: Backend) {
    let (fx, store) = open(backend).await;
    insert_ok(&store, submission(vec![simple("o", "r", 1, 5, 1)])).await;
    store.close().await.unwrap();
    fx.execute("UPDATE daily_policy_rollups SET successful = successful + 1")
        .await;
    let store = Store::open(&fx.url).await.unwrap();
    match store.check_integrity().await {
        Err(StoreError::Corrupt { what }) => {
            assert!(what.contains("daily_policy_rollups"), "{what}")
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    store.rebuild_rollups().await.unwrap();
    store.check_integrity().await.unwrap();
}

// ---------------------------------------------------------------- reprocess

async fn replace_reports_swaps_reports_and_keeps_rollups_exact(backend: Backend) {
    let (_fx, store) = open(backend).await;
    let kept = simple("google.com", "kept", 1, 10, 4);
    let dropped = simple("google.com", "dropped", 2, 7, 0);
    let other = simple("microsoft.com", "other", 1, 3, 1);
    let target = insert_ok(&store, submission(vec![kept.clone(), dropped.clone()])).await;
    let sid = target.submission_id.unwrap();
    insert_ok(&store, submission(vec![other.clone()])).await;
    // A later receipt of `kept` counts as a duplicate; reprocessing must not lose that.
    insert_ok(&store, submission(vec![kept.clone()])).await;

    // The re-parse yields `kept` with a new reading of its counts, a brand-new report, and
    // one that duplicates another submission's report.
    let mut kept_reparsed = kept.clone();
    kept_reparsed.parsed.report.policies[0]
        .summary
        .total_successful_session_count = 11;
    kept_reparsed.parser_version = "test-2".into();
    let added = simple("google.com", "added", 3, 1, 1);
    let outcomes = store
        .replace_reports(
            sid,
            vec![kept_reparsed.clone(), added.clone(), other.clone()],
        )
        .await
        .unwrap();
    stored_id(&outcomes[0]);
    stored_id(&outcomes[1]);
    let other_id = store
        .report_by_dedup_key(&key(&other))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        outcomes[2],
        ReportOutcome::Duplicate {
            existing_id: other_id.id
        }
    );
    assert_eq!(
        other_id.duplicate_count, 0,
        "reprocessing counts no new receipts"
    );

    assert!(
        store
            .report_by_dedup_key(&key(&dropped))
            .await
            .unwrap()
            .is_none()
    );
    let k = store
        .report_by_dedup_key(&key(&kept))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(k.parser_version, "test-2");
    assert_eq!(k.parsed, kept_reparsed.parsed);
    assert_eq!(
        k.duplicate_count, 1,
        "carried over from the replaced report"
    );
    assert_eq!(k.submission_id, sid);

    store.check_integrity().await.unwrap();
    let day2 = store.daily_policy_rollups(&all()).await.unwrap();
    assert!(
        day2.iter().all(|r| r.day != day(2).date_naive()),
        "emptied rows are deleted"
    );
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.submissions, counts.reports), (2, 3));

    // Repeating the same replacement changes nothing.
    let policy_before = store.daily_policy_rollups(&all()).await.unwrap();
    store
        .replace_reports(sid, vec![kept_reparsed, added, other])
        .await
        .unwrap();
    assert_eq!(
        store.daily_policy_rollups(&all()).await.unwrap(),
        policy_before
    );
    assert_eq!(store.counts().await.unwrap(), counts);

    // Replacing with nothing empties the submission but keeps its raw bytes.
    assert!(
        store
            .replace_reports(sid, Vec::new())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.counts().await.unwrap().submissions, 2);
    store.check_integrity().await.unwrap();
}

async fn random_replacements_keep_rollups_equal_to_rebuild(backend: Backend) {
    let (_fx, store) = open(backend).await;
    let mut rng = Rng(42);
    let mut ids = Vec::new();
    for _ in 0..30 {
        let sub = submission(
            (0..1 + rng.below(3))
                .map(|_| random_report(&mut rng))
                .collect(),
        );
        if let Some(id) = insert_ok(&store, sub).await.submission_id {
            ids.push(id);
        }
    }
    for _ in 0..20 {
        let id = ids[rng.below(ids.len() as u64) as usize];
        let reports = (0..rng.below(4)).map(|_| random_report(&mut rng)).collect();
        store.replace_reports(id, reports).await.unwrap();
        store.check_integrity().await.unwrap();
    }
}

async fn replace_reports_of_unknown_submission_is_refused(backend: Backend) {
    let (_fx, store) = open(backend).await;
    match store.replace_reports(SubmissionId(99), Vec::new()).await {
        Err(StoreError::InvalidValue { field, .. }) => assert_eq!(field, "submission_id"),
        other => panic!("expected InvalidValue, got {other:?}"),
    }
}

async fn submissions_page_in_id_order(backend: Backend) {
    let (_fx, store) = open(backend).await;
    for i in 0..5 {
        insert_ok(
            &store,
            submission(vec![simple("o", &format!("p{i}"), 1, 1, 0)]),
        )
        .await;
    }
    let first = store.submissions(None, 2).await.unwrap();
    let rest = store.submissions(Some(first[1].id), 10).await.unwrap();
    let ids: Vec<i64> = first.iter().chain(&rest).map(|s| s.id.0).collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);
}

// ---------------------------------------------------------------- refusals

async fn count_beyond_i64_is_refused_by_name_and_writes_nothing(backend: Backend) {
    let (_fx, store) = open(backend).await;
    let mut bad = simple("o", "huge", 1, 1, 1);
    bad.parsed.report.policies[0].failure_details[0].failed_session_count = u64::MAX;
    let good = simple("o", "fine", 1, 1, 0);
    let outcomes = store
        .insert_batch(vec![
            submission(vec![good, bad.clone()]),
            submission(vec![simple("o", "ok", 1, 2, 0)]),
        ])
        .await
        .unwrap();
    match &outcomes[0] {
        Err(StoreError::InvalidValue { field, reason }) => {
            assert_eq!(
                field,
                "reports[1].policies[0].failure-details[0].failed-session-count"
            );
            assert!(reason.contains(&u64::MAX.to_string()), "{reason}");
        }
        other => panic!("expected InvalidValue, got {other:?}"),
    }
    assert!(outcomes[1].is_ok(), "the rest of the batch is stored");
    let counts = store.counts().await.unwrap();
    assert_eq!(
        (counts.submissions, counts.reports),
        (1, 1),
        "no half submission"
    );

    bad.parsed.report.policies[0].failure_details.clear();
    bad.parsed.report.policies[0]
        .summary
        .total_successful_session_count = i64::MAX as u64 + 1;
    match store.insert(submission(vec![bad])).await {
        Err(StoreError::InvalidValue { field, .. }) => {
            assert_eq!(
                field,
                "reports[0].policies[0].summary.total-successful-session-count"
            )
        }
        other => panic!("expected InvalidValue, got {other:?}"),
    }
    store.check_integrity().await.unwrap();
}

async fn prepare_refuses_early_and_insert_prepared_stores(backend: Backend) {
    let (_fx, store) = open(backend).await;
    let mut bad = simple("o", "huge", 1, 1, 0);
    bad.parsed.report.policies[0]
        .summary
        .total_failure_session_count = u64::MAX;
    match submission(vec![bad]).prepare() {
        Err(StoreError::InvalidValue { field, .. }) => {
            assert_eq!(
                field,
                "reports[0].policies[0].summary.total-failure-session-count"
            )
        }
        other => panic!("expected InvalidValue, got {other:?}"),
    }
    let r = simple("o", "fine", 1, 1, 0);
    let prepared = vec![
        submission(vec![r.clone()]).prepare().unwrap(),
        submission(vec![r]).prepare().unwrap(),
    ];
    let outcomes = store.insert_prepared(prepared).await.unwrap();
    let id = stored_id(&outcomes[0].reports[0]);
    assert_eq!(
        outcomes[1].reports,
        vec![ReportOutcome::Duplicate { existing_id: id }]
    );
    assert!(store.insert_prepared(Vec::new()).await.unwrap().is_empty());
}

async fn i64_max_is_stored_exactly(backend: Backend) {
    let (_fx, store) = open(backend).await;
    let r = simple("o", "max", 1, i64::MAX as u64, 0);
    insert_ok(&store, submission(vec![r.clone()])).await;
    let stored = store.report_by_dedup_key(&key(&r)).await.unwrap().unwrap();
    assert_eq!(stored.parsed, r.parsed);
}

async fn rollup_overflow_rolls_back_the_whole_transaction(backend: Backend) {
    let (_fx, store) = open(backend).await;
    insert_ok(
        &store,
        submission(vec![simple("o", "a", 1, i64::MAX as u64, 0)]),
    )
    .await;
    let before = store.counts().await.unwrap();
    let rollups = store.daily_policy_rollups(&all()).await.unwrap();
    // Same day, domain, organization and type: the daily sum cannot be stored.
    match store
        .insert(submission(vec![simple("o", "b", 1, 1, 3)]))
        .await
    {
        Err(StoreError::InvalidValue { field, .. }) => assert_eq!(field, "daily rollup"),
        other => panic!("expected InvalidValue, got {other:?}"),
    }
    assert_eq!(store.counts().await.unwrap(), before);
    assert_eq!(store.daily_policy_rollups(&all()).await.unwrap(), rollups);
    assert!(
        store
            .daily_failure_rollups(&all())
            .await
            .unwrap()
            .is_empty()
    );
    store.check_integrity().await.unwrap();
}

// ---------------------------------------------------------------- open / reopen

async fn reopen_keeps_data_and_migrations_are_idempotent(backend: Backend) {
    let (fx, store) = open(backend).await;
    let r = simple("o", "persist", 4, 9, 0);
    insert_ok(&store, submission(vec![r.clone()])).await;
    store.close().await.unwrap();
    if backend == Backend::Sqlite {
        let wal = format!("{}-wal", fx.url);
        assert!(
            std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
            "close leaves one self-contained file"
        );
        // The sqlite:// form names the same file.
        let store = Store::open(&format!("sqlite://{}", fx.url)).await.unwrap();
        assert_eq!(store.counts().await.unwrap().reports, 1);
        store.close().await.unwrap();
    }

    for _ in 0..2 {
        let store = Store::open(&fx.url).await.unwrap();
        assert_eq!(store.counts().await.unwrap().reports, 1);
        assert!(store.report_by_dedup_key(&key(&r)).await.unwrap().is_some());
        store.check_integrity().await.unwrap();
        store.close().await.unwrap();
    }
}

#[tokio::test]
async fn unsupported_url_is_refused() {
    match Store::open("mysql://user:secret@localhost/tlsrpt").await {
        Err(StoreError::UnsupportedUrl { url, .. }) => {
            assert_eq!(
                url, "mysql://user:***@localhost/tlsrpt",
                "password never shown"
            )
        }
        other => panic!("expected UnsupportedUrl, got {other:?}"),
    }
}

#[tokio::test]
async fn unreachable_postgres_is_unavailable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = Store::open(&format!("postgres://postgres@127.0.0.1:{port}/tlsrpt"))
        .await
        .unwrap_err();
    assert!(err.is_temporary(), "{err:?}");
}

#[tokio::test]
async fn unwritable_location_is_unavailable() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("missing-dir").join("store.db");
    let err = Store::open(path.to_str().unwrap()).await.unwrap_err();
    assert!(err.is_temporary(), "{err:?}");
}

// ---------------------------------------------------------------- retention

/// SQLite prunes exactly the days before the cutoff; PostgreSQL whole months only.
async fn prune_removes_old_reports_and_keeps_rollups_exact(backend: Backend) {
    let (fx, store) = open(backend).await;
    let at = |m: u32, d: u32| Utc.with_ymd_and_hms(2024, m, d, 0, 0, 0).unwrap();
    let mut old = submission(vec![
        report(
            "o",
            "march",
            at(3, 10),
            vec![policy(
                PolicyType::Sts,
                Some("example.com"),
                1,
                1,
                vec![detail(ResultType::CertificateExpired, 1)],
            )],
        ),
        report(
            "o",
            "april",
            at(4, 20),
            vec![policy(
                PolicyType::Sts,
                Some("example.com"),
                2,
                0,
                Vec::new(),
            )],
        ),
    ]);
    old.received_at = at(4, 21);
    insert_ok(&store, old).await;
    // One submission with an old and a recent report: its raw bytes must stay.
    let mut mixed = submission(vec![
        report(
            "o",
            "april-late",
            at(4, 30),
            vec![policy(
                PolicyType::Sts,
                Some("example.com"),
                4,
                0,
                Vec::new(),
            )],
        ),
        report(
            "o",
            "may-1",
            at(5, 1),
            vec![policy(
                PolicyType::Sts,
                Some("example.com"),
                8,
                0,
                Vec::new(),
            )],
        ),
    ]);
    mixed.received_at = at(5, 2);
    insert_ok(&store, mixed).await;
    let mut recent = submission(vec![report(
        "o",
        "may-20",
        at(5, 20),
        vec![policy(
            PolicyType::Sts,
            Some("example.com"),
            16,
            0,
            Vec::new(),
        )],
    )]);
    recent.received_at = at(5, 21);
    insert_ok(&store, recent).await;

    // Another receiver has written to April (and so knows its partitions exist).
    let other = Store::open(&fx.url).await.unwrap();
    let april = report(
        "o",
        "april-2",
        at(4, 2),
        vec![policy(
            PolicyType::Sts,
            Some("example.com"),
            1,
            0,
            Vec::new(),
        )],
    );
    insert_ok(&other, submission(vec![april])).await;

    let pruned = store.prune(at(5, 1).date_naive()).await.unwrap();
    assert_eq!(
        pruned,
        tlsrpt_store::Pruned {
            reports: 4,
            submissions: 1
        }
    );
    store.check_integrity().await.unwrap();
    let counts = store.counts().await.unwrap();
    // The other receiver's submission was received on May 20: its raw bytes stay.
    assert_eq!(
        (counts.reports, counts.submissions, counts.failure_details),
        (2, 3, 0)
    );
    let days: Vec<_> = store
        .daily_policy_rollups(&all())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.day, r.successful))
        .collect();
    assert_eq!(
        days,
        vec![(at(5, 1).date_naive(), 8), (at(5, 20).date_naive(), 16)]
    );

    // Mid-month: SQLite removes May 1; PostgreSQL keeps May until all of it is old.
    let pruned = store.prune(at(5, 15).date_naive()).await.unwrap();
    let expected = match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => 0,
    };
    assert_eq!(pruned.reports, expected);
    assert_eq!(store.counts().await.unwrap().reports, 2 - expected);
    store.check_integrity().await.unwrap();
    // A late report for a pruned month is stored again (its partition is recreated).
    let late = report(
        "o",
        "late",
        at(4, 25),
        vec![policy(
            PolicyType::Sts,
            Some("example.com"),
            1,
            0,
            Vec::new(),
        )],
    );
    stored_id(&insert_ok(&store, submission(vec![late])).await.reports[0]);
    store.check_integrity().await.unwrap();
}

// ---------------------------------------------------------------- SQLite → PostgreSQL

/// Every row arrives, ids included; the copy behaves like the original (duplicates are
/// recognised, new ids do not collide, reprocessing finds the raw bytes).
#[tokio::test]
async fn copy_into_postgres_keeps_every_row() {
    let (_lite_fx, lite) = open(Backend::Sqlite).await;
    let mut rng = Rng(7);
    let mut keys = Vec::new();
    for _ in 0..40 {
        let mut reports: Vec<NewReport> = (0..1 + rng.below(3))
            .map(|_| random_report(&mut rng))
            .collect();
        reports[0].parsed.diagnostics.push(Diagnostic {
            code: DiagnosticCode::UnknownKey,
            path: "policies[0].x".into(),
            message: "kept".into(),
        });
        reports[0].message = Some(MessageMeta {
            tls_report_domain: Some("example.com".into()),
            ..MessageMeta::default()
        });
        keys.extend(reports.iter().map(key));
        insert_ok(&lite, submission(reports)).await;
    }
    // A replaced submission leaves an id gap the copy must not reuse.
    let first = lite.submissions(None, 1).await.unwrap()[0].id;
    lite.replace_reports(first, Vec::new()).await.unwrap();
    let alert = lite
        .open_alert(&tlsrpt_store::NewAlert {
            domain: "example.com".into(),
            rule: "certificate-failure".into(),
            severity: "critical".into(),
            opened_at: day(3),
            alert: "{}".into(),
        })
        .await
        .unwrap()
        .unwrap();
    lite.resolve_alert(alert, day(4)).await.unwrap();
    let (_pg_fx, pg) = open(Backend::Postgres).await;
    let mut seen = Vec::new();
    let counts = lite
        .copy_into(&pg, |p| seen.push((p.table, p.copied, p.total)))
        .await
        .unwrap();
    assert!(
        seen.iter()
            .any(|&(t, c, n)| t == "failure_details" && c == n && n > 0)
    );
    let lite_counts = lite.counts().await.unwrap();
    assert_eq!(pg.counts().await.unwrap(), lite_counts);
    assert_eq!(counts[1], ("reports", lite_counts.reports));
    for k in &keys {
        assert_eq!(
            pg.report_by_dedup_key(k).await.unwrap(),
            lite.report_by_dedup_key(k).await.unwrap()
        );
    }
    assert_eq!(
        pg.daily_failure_rollups(&all()).await.unwrap(),
        lite.daily_failure_rollups(&all()).await.unwrap()
    );
    assert_eq!(
        pg.submissions(None, 1000).await.unwrap(),
        lite.submissions(None, 1000).await.unwrap()
    );
    assert_eq!(
        pg.alert(alert).await.unwrap(),
        lite.alert(alert).await.unwrap(),
        "alert state is copied"
    );
    pg.check_integrity().await.unwrap();
    let next = insert_ok(&pg, submission(vec![simple("o", "after-copy", 9, 1, 0)])).await;
    let lite_next = insert_ok(&lite, submission(vec![simple("o", "after-copy", 9, 1, 0)])).await;
    assert_eq!(next, lite_next, "ids continue where the source's would");
    match lite.copy_into(&pg, |_| ()).await {
        Err(StoreError::InvalidValue { reason, .. }) => {
            assert!(reason.contains("not empty"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

// ---------------------------------------------------------------- several writers

/// Two store handles on one database (two receivers) insert overlapping batches at the same
/// time: the database's unique key decides, so each report is stored once and every other
/// receipt is counted on it.
async fn concurrent_stores_store_each_report_once(backend: Backend) {
    let (fx, first) = open(backend).await;
    let second = Store::open(&fx.url).await.unwrap();
    let shared: Vec<NewReport> = (0..60)
        .map(|i| simple("shared.example", &format!("s{i}"), 1 + i % 5, 10, 1))
        .collect();
    let write = |store: Store, own: &'static str| {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for (i, chunk) in shared.chunks(6).enumerate() {
                let mut reports = chunk.to_vec();
                reports.push(simple(own, &format!("{own}{i}"), 2, 3, 0));
                let batch = reports.into_iter().map(|r| submission(vec![r])).collect();
                for outcome in store.insert_batch(batch).await.unwrap() {
                    outcomes.push(outcome.unwrap());
                }
            }
            (store, outcomes)
        })
    };
    let (a, b) = tokio::join!(write(first, "a.example"), write(second, "b.example"));
    let (first, a) = a.unwrap();
    let (second, b) = b.unwrap();
    let stored = a
        .iter()
        .chain(&b)
        .flat_map(|o| &o.reports)
        .filter(|r| matches!(r, ReportOutcome::Stored { .. }))
        .count();
    assert_eq!(
        stored,
        60 + 10 + 10,
        "each shared report stored by exactly one writer"
    );
    let counts = first.counts().await.unwrap();
    assert_eq!(
        (counts.reports, counts.submissions, counts.duplicates_seen),
        (80, 80, 60)
    );
    for r in &shared {
        let kept = second.report_by_dedup_key(&key(r)).await.unwrap().unwrap();
        assert_eq!(kept.duplicate_count, 1);
    }
    first.check_integrity().await.unwrap();
    let rollups = first
        .daily_policy_rollups(&domain("example.com"))
        .await
        .unwrap();
    assert_eq!(
        rollups.iter().map(|r| r.reports).sum::<u64>(),
        80,
        "duplicates add nothing to rollups"
    );
}

/// Both migration sets define the same tables with the same columns, read from each
/// database's own catalog after migrating. PostgreSQL adds only the partition key to the
/// tables partitioned by report month (see migrations/postgres/0001_initial.sql).
#[tokio::test]
async fn both_migration_sets_define_the_same_tables_and_columns() {
    use std::collections::BTreeSet;
    const PARTITION_KEYS: [(&str, &str); 3] = [
        ("diagnostics", "range_day"),
        ("failure_details", "range_day"),
        ("policies", "range_day"),
    ];
    /// SQLite declared type → the PostgreSQL types that mirror it.
    fn mirrors(sqlite: &str, postgres: &str) -> bool {
        matches!(
            (sqlite, postgres),
            ("INTEGER", "bigint" | "boolean") | ("TEXT", "text" | "date") | ("BLOB", "bytea")
        )
    }
    let sqlite = Fixture::new(Backend::Sqlite);
    let postgres = Fixture::new(Backend::Postgres);
    for fx in [&sqlite, &postgres] {
        Store::open(&fx.url).await.unwrap().close().await.unwrap();
    }
    use sqlx::{Connection, Row};
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", sqlite.url))
        .await
        .unwrap();
    let lite: Vec<(String, String, String)> = sqlx::query(
        "SELECT m.name, c.name, c.type FROM sqlite_schema m JOIN pragma_table_info(m.name) c \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect();
    let lite_versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let mut conn = sqlx::PgConnection::connect(&postgres.url).await.unwrap();
    let pg: Vec<(String, String, String)> = sqlx::query(
        "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, NULL) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
         AND a.attnum > 0 AND NOT a.attisdropped AND c.relname <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect();
    let pg_versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        lite_versions, pg_versions,
        "one migration per version in each set"
    );

    let names = |rows: &[(String, String, String)]| -> BTreeSet<(String, String)> {
        rows.iter()
            .map(|(t, c, _)| (t.clone(), c.clone()))
            .collect()
    };
    let expected_extra: BTreeSet<(String, String)> = PARTITION_KEYS
        .iter()
        .map(|(t, c)| (t.to_string(), c.to_string()))
        .collect();
    let lite_names = names(&lite);
    let pg_names = names(&pg);
    assert_eq!(
        lite_names.difference(&pg_names).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "SQLite columns missing in PostgreSQL"
    );
    assert_eq!(
        pg_names
            .difference(&lite_names)
            .cloned()
            .collect::<BTreeSet<_>>(),
        expected_extra,
        "PostgreSQL columns beyond the partition keys"
    );
    for (table, column, lite_type) in &lite {
        let (_, _, pg_type) = pg
            .iter()
            .find(|(t, c, _)| t == table && c == column)
            .unwrap();
        assert!(
            mirrors(lite_type, pg_type),
            "{table}.{column}: SQLite {lite_type} vs PostgreSQL {pg_type}"
        );
    }
}

/// Citus distributes a table by one column and needs it in every unique key; the rollups
/// are to be distributed by policy domain (docs/postgresql.md).
#[tokio::test]
async fn rollup_keys_allow_sharding_by_policy_domain() {
    use sqlx::Connection;
    let fx = Fixture::new(Backend::Postgres);
    Store::open(&fx.url).await.unwrap().close().await.unwrap();
    let mut conn = sqlx::PgConnection::connect(&fx.url).await.unwrap();
    let keys: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT t.relname::text, i.relname::text, \
         EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid \
                 AND a.attname = 'policy_domain' AND a.attnum = ANY(x.indkey)) \
         FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_class i ON i.oid = x.indexrelid \
         WHERE x.indisunique AND t.relname IN ('daily_policy_rollups', 'daily_failure_rollups')",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    for (table, index, has_domain) in keys {
        assert!(
            has_domain,
            "{table}: unique key {index} lacks policy_domain"
        );
    }
}

/// TLS to the database: `sslmode=verify-full` with the test CA connects (and the session is
/// encrypted, as PostgreSQL itself reports); with another CA the connection is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_postgres_verifies_the_server_certificate() {
    use sqlx::Connection;
    let certs = TempDir::new().unwrap();
    let openssl = |args: &[&str]| {
        let output = std::process::Command::new("openssl")
            .args(args)
            .current_dir(certs.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    for ca in ["ca", "other-ca"] {
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{ca}.key"),
            "-out",
            &format!("{ca}.pem"),
            "-days",
            "2",
            "-subj",
            &format!("/CN=tlsrpt test {ca}"),
        ]);
    }
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        certs.path().join("san.ext"),
        "subjectAltName=IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
    let source = certs.path().to_owned();
    let cluster = tokio::task::spawn_blocking(move || {
        pg::Cluster::start_with(|dir| {
            for file in ["server.pem", "server.key"] {
                std::fs::copy(source.join(file), dir.join(file)).unwrap();
            }
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                dir.join("server.key"),
                std::fs::Permissions::from_mode(0o600),
            )
            .unwrap();
            vec![
                "-c".into(),
                "ssl=on".into(),
                "-c".into(),
                format!("ssl_cert_file={}", dir.join("server.pem").display()),
                "-c".into(),
                format!("ssl_key_file={}", dir.join("server.key").display()),
            ]
        })
    })
    .await
    .unwrap();
    let url = cluster.fresh_database();
    let ca = certs.path().join("ca.pem");
    let verified = format!("{url}?sslmode=verify-full&sslrootcert={}", ca.display());
    let store = Store::open(&verified).await.unwrap();
    insert_ok(&store, submission(vec![simple("o", "over-tls", 1, 1, 0)])).await;
    store.close().await.unwrap();
    let mut conn = sqlx::PgConnection::connect(&verified).await.unwrap();
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(encrypted, "the session is TLS");
    conn.close().await.unwrap();

    let other = certs.path().join("other-ca.pem");
    let wrong = format!("{url}?sslmode=verify-full&sslrootcert={}", other.display());
    assert!(
        Store::open(&wrong).await.is_err(),
        "a server the CA did not sign is refused"
    );
}

/// PostgreSQL going away mid-service: writes fail as temporary (receivers answer "try again"),
/// and once it is back the same store handle works again, without reopening.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_is_temporary_and_the_pool_recovers() {
    let cluster = tokio::task::spawn_blocking(pg::Cluster::start)
        .await
        .unwrap();
    let url = cluster.fresh_database();
    let store = Store::open(&url).await.unwrap();
    insert_ok(&store, submission(vec![simple("o", "before", 1, 1, 0)])).await;
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.stop();
        cluster
    })
    .await
    .unwrap();
    let err = store
        .insert(submission(vec![simple("o", "during", 1, 1, 0)]))
        .await
        .unwrap_err();
    assert!(err.is_temporary(), "{err:?}");
    assert!(store.counts().await.unwrap_err().is_temporary());
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.restart();
        cluster
    })
    .await
    .unwrap();
    if let Err(e) = store
        .insert(submission(vec![simple("o", "after", 1, 1, 0)]))
        .await
    {
        panic!("{e:?}\n{}", cluster.log());
    }
    let counts = store.counts().await.unwrap();
    assert_eq!(counts.reports, 2, "the refused report was not stored");
    store.check_integrity().await.unwrap();
}

/// Two writers upserting the same rollup rows in opposite order deadlock; PostgreSQL aborts
/// one of them (40P01). The store's transaction is made the one aborted (the other
/// session waits longer before checking for deadlocks), and the store runs it again: the
/// insert succeeds, and both writers' additions are in the rollups.
#[tokio::test]
async fn deadlocked_insert_is_retried_postgres() {
    use sqlx::{Connection, Executor};
    let (fx, store) = open(Backend::Postgres).await;
    let two_domains = |id: &str| {
        report(
            "o",
            id,
            day(1),
            vec![
                policy(PolicyType::Sts, Some("a.example"), 10, 0, Vec::new()),
                policy(PolicyType::Sts, Some("b.example"), 20, 0, Vec::new()),
            ],
        )
    };
    insert_ok(&store, submission(vec![two_domains("first")])).await;

    let mut other = sqlx::PgConnection::connect(&fx.url).await.unwrap();
    other
        .execute("BEGIN; SET LOCAL deadlock_timeout = '60s'")
        .await
        .unwrap();
    let add = |domain: &str| {
        format!(
            "UPDATE daily_policy_rollups SET successful = successful + 1 \
             WHERE policy_domain = '{domain}'"
        )
    };
    other
        .execute(sqlx::AssertSqlSafe(add("b.example")))
        .await
        .unwrap();
    // The store upserts in key order: it locks a.example's row, then waits for b.example's.
    let insert = tokio::spawn({
        let store = std::sync::Arc::new(store);
        let handle = store.clone();
        async move {
            let outcome = handle.insert(submission(vec![two_domains("second")])).await;
            (outcome, store)
        }
    });
    let mut watcher = sqlx::PgConnection::connect(&fx.url).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pg_locks WHERE NOT granted")
        .fetch_one(&mut watcher)
        .await
        .unwrap()
        == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the store never waited"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Closes the cycle. This session returns only once the other side was aborted, so
    // getting here at all means the store's transaction was the deadlock victim.
    other
        .execute(sqlx::AssertSqlSafe(add("a.example")))
        .await
        .unwrap();
    other.execute("COMMIT").await.unwrap();
    let (outcome, store) = insert.await.unwrap();
    let outcome = outcome.expect("the deadlocked insert is retried and succeeds");
    stored_id(&outcome.reports[0]);
    let sums: Vec<(String, u64)> = store
        .daily_policy_rollups(&all())
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.policy_domain, r.successful))
        .collect();
    assert_eq!(
        sums,
        [("a.example".to_owned(), 21), ("b.example".to_owned(), 41)]
    );
}

// ---------------------------------------------------------------- crash safety

const CRASH_CHILD: &str = "TLSRPT_STORE_CRASH_CHILD";

#[test]
fn killed_writer_keeps_every_acknowledged_report_sqlite() {
    killed_writer_keeps_every_acknowledged_report(
        Backend::Sqlite,
        "killed_writer_keeps_every_acknowledged_report_sqlite",
    );
}

#[test]
fn killed_writer_keeps_every_acknowledged_report_postgres() {
    killed_writer_keeps_every_acknowledged_report(
        Backend::Postgres,
        "killed_writer_keeps_every_acknowledged_report_postgres",
    );
}

/// Kills (SIGKILL) a process in the middle of a stream of batch inserts, then checks that
/// every batch it had seen acknowledged is there, whole, with exact rollups. The child is
/// this test binary running `test` again with the store's URL in the environment.
fn killed_writer_keeps_every_acknowledged_report(backend: Backend, test: &str) {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    if let Some(url) = std::env::var_os(CRASH_CHILD) {
        return crash_child(url.to_str().unwrap());
    }
    let fx = Fixture::new(backend);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture"])
        .env(CRASH_CHILD, &fx.url)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut acknowledged = 0u64;
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        if let Some(n) = line.unwrap().strip_prefix("acknowledged ") {
            acknowledged = n.parse().unwrap();
            if acknowledged >= 400 {
                break;
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(acknowledged >= 400, "the child stopped early");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = Store::open(&fx.url).await.unwrap();
        store.check_integrity().await.unwrap();
        let counts = store.counts().await.unwrap();
        assert!(
            counts.reports >= acknowledged,
            "{counts:?} < {acknowledged}"
        );
        assert_eq!(
            counts.policies,
            2 * counts.reports,
            "no report stored in part"
        );
        store.close().await.unwrap();
    });
}

/// The child: inserts batches of 20 two-policy reports forever, printing the running total
/// after each commit returns.
fn crash_child(url: &str) {
    use std::io::Write;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = Store::open(url).await.unwrap();
        let mut total = 0u64;
        for batch in 0.. {
            let subs = (0..20)
                .map(|i| {
                    let p = |d: &str| {
                        policy(
                            PolicyType::Sts,
                            Some(d),
                            5,
                            2,
                            vec![detail(ResultType::CertificateExpired, 2)],
                        )
                    };
                    let r = report(
                        "crash.example",
                        &format!("b{batch}-{i}"),
                        day(1 + (batch % 28) as u32),
                        vec![p("example.com"), p("example.org")],
                    );
                    submission(vec![r])
                })
                .collect();
            for outcome in store.insert_batch(subs).await.unwrap() {
                total += outcome.unwrap().reports.len() as u64;
            }
            let mut out = std::io::stdout().lock();
            writeln!(out, "acknowledged {total}").unwrap();
            out.flush().unwrap();
        }
    });
}

/// Receivers call `insert` once per report from many tasks at once; the store groups them
/// into shared transactions. Each caller must still get its own outcome, duplicates across
/// and within a group must be counted once, and the rollups must stay exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_single_inserts_share_commits_and_keep_their_own_outcomes_sqlite() {
    concurrent_single_inserts_share_commits_and_keep_their_own_outcomes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_single_inserts_share_commits_and_keep_their_own_outcomes_postgres() {
    concurrent_single_inserts_share_commits_and_keep_their_own_outcomes(Backend::Postgres).await;
}

async fn concurrent_single_inserts_share_commits_and_keep_their_own_outcomes(backend: Backend) {
    let (_fx, store) = open(backend).await;
    let store = std::sync::Arc::new(store);
    let tasks: Vec<_> = (0..64u32)
        .map(|n| {
            let store = std::sync::Arc::clone(&store);
            // Tasks 48..64 resend reports 0..16.
            let id = format!("group-{}", n % 48);
            tokio::spawn(async move {
                let outcome = store
                    .insert(submission(vec![simple("org", &id, 1, 10, 1)]))
                    .await
                    .unwrap();
                (id, outcome)
            })
        })
        .collect();
    let mut stored = std::collections::HashMap::new();
    let mut duplicates = 0;
    for task in tasks {
        let (id, outcome) = task.await.unwrap();
        match outcome.reports[..] {
            [ReportOutcome::Stored { id: report }] => {
                assert!(stored.insert(id, report).is_none(), "stored twice");
            }
            [ReportOutcome::Duplicate { .. }] => duplicates += 1,
            ref other => panic!("{other:?}"),
        }
    }
    assert_eq!((stored.len(), duplicates), (48, 16));
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.reports, counts.duplicates_seen), (48, 16));
    store.check_integrity().await.unwrap();
    let rollups = store.daily_policy_rollups(&all()).await.unwrap();
    assert_eq!(rollups.iter().map(|r| r.reports).sum::<u64>(), 48);
}

// ---------------------------------------------------------------- domain checks

async fn domain_checks_keep_the_latest_run_and_its_changes(backend: Backend) {
    let (_fx, store) = open(backend).await;
    assert_eq!(
        store.latest_domain_check("example.com").await.unwrap(),
        None
    );
    let run = |at: u32, status: &str, changes: Vec<tlsrpt_store::CheckChange>| {
        tlsrpt_store::NewDomainCheck {
            domain: "example.com".into(),
            checked_at: day(at),
            status: status.into(),
            snapshot: format!("{{\"run\":{at}}}"),
            findings: "[]".into(),
            changes,
        }
    };
    store
        .insert_domain_check(&run(1, "pass", vec![]))
        .await
        .unwrap();
    let change = tlsrpt_store::CheckChange {
        kind: "sts-policy-id-changed".into(),
        detail: "1 -> 2".into(),
    };
    let id = store
        .insert_domain_check(&run(2, "fail", vec![change.clone()]))
        .await
        .unwrap();
    let latest = store
        .latest_domain_check("example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.id, id);
    assert_eq!(latest.checked_at, day(2));
    assert_eq!(latest.status, "fail");
    assert_eq!(latest.snapshot, "{\"run\":2}");
    assert_eq!(latest.changes, [change]);
    assert_eq!(
        store.latest_domain_check("example.net").await.unwrap(),
        None
    );
    let bad = store.insert_domain_check(&run(3, "unknown", vec![])).await;
    assert!(bad.is_err(), "status is constrained: {bad:?}");
    store.close().await.unwrap();
}

async fn web_sessions_are_shared_keyed_by_hash_expire_and_end(backend: Backend) {
    use sha2::Digest;
    use tlsrpt_store::NewWebSession;
    let (fx, store) = open(backend).await;
    let session = |token: &str, expires_at: DateTime<Utc>| NewWebSession {
        token: token.into(),
        user: "admin".into(),
        csrf: format!("csrf-of-{token}"),
        expires_at,
    };
    let later = Utc::now() + Duration::hours(1);
    store
        .create_web_session(&session("token-a", later))
        .await
        .unwrap();
    let found = store.web_session("token-a").await.unwrap().unwrap();
    assert_eq!(found.user, "admin");
    assert_eq!(found.csrf, "csrf-of-token-a");
    assert_eq!(
        found.expires_at.timestamp_micros(),
        later.timestamp_micros()
    );
    assert!(found.created_at <= Utc::now());
    assert_eq!(store.web_session("token-b").await.unwrap(), None);

    // Another process on the same database sees it.
    let other = Store::open(&fx.url).await.unwrap();
    assert_eq!(other.web_session("token-a").await.unwrap(), Some(found));

    // An expired session is never returned, and the next login deletes it for good (here
    // proven by moving every stored expiry into the future afterwards).
    store
        .create_web_session(&session("token-old", Utc::now() - Duration::seconds(1)))
        .await
        .unwrap();
    assert_eq!(store.web_session("token-old").await.unwrap(), None);
    store
        .create_web_session(&session("token-c", later))
        .await
        .unwrap();
    fx.execute("UPDATE web_sessions SET expires_at_us = 9000000000000000")
        .await;
    assert_eq!(store.web_session("token-old").await.unwrap(), None);
    assert!(store.web_session("token-c").await.unwrap().is_some());

    // Logout ends it everywhere.
    assert!(other.delete_web_session("token-a").await.unwrap());
    assert!(!other.delete_web_session("token-a").await.unwrap());
    assert_eq!(store.web_session("token-a").await.unwrap(), None);
    other.close().await.unwrap();

    // The row is keyed by the token's SHA-256: deleting by that hash removes the session.
    let hash: String = sha2::Sha256::digest(b"token-c")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let literal = match backend {
        Backend::Sqlite => format!("X'{hash}'"),
        Backend::Postgres => format!("'\\x{hash}'::bytea"),
    };
    fx.execute(&format!(
        "DELETE FROM web_sessions WHERE token_sha256 = {literal}"
    ))
    .await;
    assert_eq!(store.web_session("token-c").await.unwrap(), None);
    store.close().await.unwrap();
}

async fn one_open_alert_per_domain_and_rule_with_its_lifecycle(backend: Backend) {
    use tlsrpt_store::{AlertFilter, AlertState, NewAlert, NewNotification};
    let (_fx, store) = open(backend).await;
    let new = |rule: &str, at: DateTime<Utc>| NewAlert {
        domain: "example.com".into(),
        rule: rule.into(),
        severity: "critical".into(),
        opened_at: at,
        alert: "{\"title\":\"t\"}".into(),
    };
    let t0 = day(1);
    let first = store
        .open_alert(&new("certificate-failure", t0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .open_alert(&new("certificate-failure", t0))
            .await
            .unwrap(),
        None,
        "a second open alert for the same domain and rule is refused by the database"
    );
    let other = store
        .open_alert(&new("dane-failure", t0))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(first, other);

    let t1 = t0 + Duration::hours(1);
    assert!(store.refresh_alert(first, "high", "{}", t1).await.unwrap());
    assert!(store.alert_notified(first, t1).await.unwrap());
    assert!(store.acknowledge_alert(first, "admin", t1).await.unwrap());
    assert!(
        store
            .mute_alert(first, Some(t1 + Duration::days(7)))
            .await
            .unwrap()
    );
    let stored = store.alert(first).await.unwrap().unwrap();
    assert_eq!(stored.severity, "high");
    assert_eq!(stored.state, AlertState::Open);
    assert_eq!(stored.last_evaluated_at, t1);
    assert_eq!(stored.last_notified_at, Some(t1));
    assert_eq!(stored.acknowledged_by.as_deref(), Some("admin"));
    assert_eq!(stored.acknowledged_at, Some(t1));
    assert_eq!(stored.muted_until, Some(t1 + Duration::days(7)));
    assert_eq!(stored.alert, "{}");

    let t2 = t1 + Duration::hours(1);
    assert!(store.resolve_alert(first, t2).await.unwrap());
    assert!(
        !store.resolve_alert(first, t2).await.unwrap(),
        "already resolved"
    );
    assert!(!store.refresh_alert(first, "low", "{}", t2).await.unwrap());
    let reopened = store
        .open_alert(&new("certificate-failure", t2))
        .await
        .unwrap()
        .unwrap();
    let latest = store
        .latest_alert("example.com", "certificate-failure")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.id, reopened);
    assert_eq!(
        store.alert(first).await.unwrap().unwrap().resolved_at,
        Some(t2)
    );

    let listed = |filter: AlertFilter| {
        let store = &store;
        async move {
            store
                .alerts(&filter)
                .await
                .unwrap()
                .iter()
                .map(|a| a.id)
                .collect::<Vec<_>>()
        }
    };
    let all = AlertFilter {
        limit: 10,
        ..Default::default()
    };
    assert_eq!(listed(all.clone()).await, [reopened, other, first]);
    assert_eq!(
        listed(AlertFilter {
            state: Some(AlertState::Open),
            ..all.clone()
        })
        .await,
        [reopened, other]
    );
    assert_eq!(
        listed(AlertFilter {
            state: Some(AlertState::Resolved),
            ..all.clone()
        })
        .await,
        [first]
    );
    assert_eq!(
        listed(AlertFilter {
            severity: Some("critical".into()),
            before: Some(reopened),
            ..all.clone()
        })
        .await,
        [other]
    );
    assert!(
        listed(AlertFilter {
            domain: Some("example.net".into()),
            ..all.clone()
        })
        .await
        .is_empty()
    );
    assert!(!store.acknowledge_alert(9999, "x", t2).await.unwrap());

    let logged = store
        .record_notification(&NewNotification {
            alert_id: first,
            kind: "opened".into(),
            channel: "ops-mail".into(),
            attempts: 3,
            created_at: t1,
            delivered_at: None,
            last_error: Some("connection refused".into()),
        })
        .await
        .unwrap();
    let log = store.notifications(first).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].id, logged);
    assert_eq!((log[0].attempts, log[0].delivered_at), (3, None));
    assert_eq!(log[0].last_error.as_deref(), Some("connection refused"));
    assert!(store.notifications(other).await.unwrap().is_empty());
    store.close().await.unwrap();
}

/// `unknown_domains = "quarantine"` stores a report for a person to look at, but its
/// sessions must not reach the dashboards' figures: the rollups leave it out on insert,
/// reprocessing and rebuild alike.
async fn quarantined_reports_are_stored_but_left_out_of_rollups(backend: Backend) {
    let (_fx, store) = open(backend).await;
    insert_ok(
        &store,
        submission(vec![simple("good.example", "g1", 3, 10, 2)]),
    )
    .await;
    let quarantined = simple("stranger.example", "q1", 3, 40, 5);
    let mut aside = submission(vec![quarantined.clone()]);
    aside.quarantined = true;
    let outcome = insert_ok(&store, aside).await;
    stored_id(&outcome.reports[0]);
    let stored = store
        .report_by_dedup_key(&key(&quarantined))
        .await
        .unwrap()
        .unwrap();
    assert!(stored.quarantined);
    assert_eq!(store.counts().await.unwrap().reports, 2);

    only_the_good_report_is_rolled_up(&store).await;
    store
        .replace_reports(
            outcome.submission_id.unwrap(),
            vec![simple("stranger.example", "q1", 3, 41, 6)],
        )
        .await
        .unwrap();
    only_the_good_report_is_rolled_up(&store).await;
    store.rebuild_rollups().await.unwrap();
    only_the_good_report_is_rolled_up(&store).await;
}

async fn only_the_good_report_is_rolled_up(store: &Store) {
    let policy = store.daily_policy_rollups(&all()).await.unwrap();
    assert_eq!(
        policy
            .iter()
            .map(|r| (r.organization.as_str(), r.successful, r.failed, r.reports))
            .collect::<Vec<_>>(),
        vec![("good.example", 10, 2, 1)]
    );
    let failure = store.daily_failure_rollups(&all()).await.unwrap();
    assert_eq!(
        failure
            .iter()
            .map(|r| (r.organization.as_str(), r.failed_sessions, r.details))
            .collect::<Vec<_>>(),
        vec![("good.example", 2, 1)]
    );
    store.check_integrity().await.unwrap();
}
