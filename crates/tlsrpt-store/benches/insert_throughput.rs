//! Import throughput: N generated reports into a fresh store, the way `import` runs them.
//!
//! One thread plays the parser (builds each report, serialises it as its raw JSON, compresses
//! it with `RawBlob::compress`, calls `NewSubmission::prepare`) and hands batches to the
//! writer, which calls `insert_prepared`.
//! A one-shot wall-clock measurement, not a statistical micro-benchmark, because the target
//! is "100,000 reports in ≤ 10 s" end to end.
//!
//! `cargo bench -p tlsrpt-store --bench insert_throughput -- [reports] [batch] [max-details]`
//! (defaults 100000, 5000, 20). Reports have 1–4 policies and 0–`max-details` failure details
//! (uniform), 500 policy domains, 8 reporters, dates in order over 90 days.
//!
//! Environment: `TLSRPT_BENCH_PREGENERATE=1` builds every submission before the clock starts
//! (the writer alone); `TLSRPT_BENCH_DB=path` keeps the database (the file must not exist).

#[path = "../tests/support/rng.rs"]
mod rng;

use rng::Rng;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use tlsrpt_core::{
    DateRange, FailureDetail, IpValue, ParsedReport, Policy, PolicyResult, PolicyType, Report,
    ResultType, Summary,
};
use tlsrpt_store::{
    AuthResult, Authentication, NewReport, NewSubmission, Origin, PreparedSubmission, RawBlob,
    Store,
};

#[derive(Clone, Copy)]
struct Config {
    total: usize,
    batch: usize,
    max_details: u64,
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.parse::<usize>().expect("numeric argument"));
    let config = Config {
        total: args.next().unwrap_or(100_000),
        batch: args.next().unwrap_or(5_000),
        max_details: args.next().unwrap_or(20) as u64,
    };
    let dir = tempfile::TempDir::new().expect("temp dir");
    let path = std::env::var_os("TLSRPT_BENCH_DB")
        .map_or_else(|| dir.path().join("bench.db"), std::path::PathBuf::from);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");

    let (batches, producer): (Box<dyn Iterator<Item = Batch>>, _) =
        if std::env::var_os("TLSRPT_BENCH_PREGENERATE").is_some() {
            let mut all = Vec::new();
            let busy = produce(config, |batch| {
                all.push(batch);
                true
            });
            (Box::new(all.into_iter()), std::thread::spawn(move || busy))
        } else {
            let (tx, rx) = mpsc::sync_channel(4);
            let producer =
                std::thread::spawn(move || produce(config, |batch| tx.send(batch).is_ok()));
            (Box::new(rx.into_iter()), producer)
        };

    let started = Instant::now();
    let (stored, writer_busy, counts) = runtime.block_on(async {
        let store = Store::open(path.to_str().expect("utf-8 path"))
            .await
            .expect("open");
        let mut stored = 0usize;
        let mut busy = Duration::ZERO;
        for batch in batches {
            let t = Instant::now();
            for outcome in store.insert_prepared(batch).await.expect("insert") {
                stored += outcome.reports.len();
            }
            busy += t.elapsed();
        }
        let counts = store.counts().await.expect("counts");
        store.close().await.expect("close");
        (stored, busy, counts)
    });
    let wall = started.elapsed();
    let producer_busy = producer.join().expect("producer");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

    println!("reports          {stored} in batches of {}", config.batch);
    println!(
        "rows             {} policies, {} failure details",
        counts.policies, counts.failure_details
    );
    println!(
        "wall             {:.2} s  ({:.0} reports/s end to end)",
        wall.as_secs_f64(),
        stored as f64 / wall.as_secs_f64()
    );
    println!(
        "writer busy      {:.2} s  ({:.0} reports/s in insert_prepared)",
        writer_busy.as_secs_f64(),
        stored as f64 / writer_busy.as_secs_f64()
    );
    println!(
        "producer busy    {:.2} s  (generate + serialise + compress + prepare)",
        producer_busy.as_secs_f64()
    );
    println!(
        "database size    {:.1} MiB",
        size as f64 / (1024.0 * 1024.0)
    );
}

type Batch = Vec<PreparedSubmission>;

/// Generates every batch and hands it to `send` until that refuses; returns the CPU time
/// spent generating.
fn produce(config: Config, mut send: impl FnMut(Batch) -> bool) -> Duration {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut busy = Duration::ZERO;
    let mut produced = 0;
    while produced < config.total {
        let t = Instant::now();
        let n = config.batch.min(config.total - produced);
        let batch = (produced..produced + n)
            .map(|i| submission(&mut rng, config, i).prepare().expect("storable"))
            .collect();
        produced += n;
        busy += t.elapsed();
        if !send(batch) {
            break;
        }
    }
    busy
}

const ORGS: &[&str] = &[
    "Google Inc.",
    "Microsoft Corporation",
    "Mail.Ru",
    "Yahoo",
    "comcast.net",
    "Stalwart",
    "Proton AG",
    "Fastmail",
];

const REASONS: &[&str] = &[
    "X509_V_ERR_CERT_HAS_EXPIRED",
    "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT",
    "X509_V_ERR_HOSTNAME_MISMATCH",
    "Could not resolve policy host",
];

fn submission(rng: &mut Rng, config: Config, i: usize) -> NewSubmission {
    let report = report(rng, config, i);
    let raw = serde_json::to_vec(&report).expect("serialise");
    NewSubmission {
        raw: RawBlob::compress(&raw),
        origin: Origin::File,
        source_name: Some(format!("/var/spool/tlsrpt/{i}.json")),
        received_at: Utc::now(),
        authentication: Authentication::bare(AuthResult::NotChecked),
        quarantined: false,
        reports: vec![NewReport {
            parsed: ParsedReport {
                report,
                diagnostics: Vec::new(),
            },
            message: None,
            file_name: Some(format!("report-{i}.json.gz")),
            parser_version: "bench".into(),
        }],
    }
}

/// Reports arrive in date order, as they do live (each day brings the previous day's) and
/// from a sorted archive: 90 days of reports.
fn report(rng: &mut Rng, config: Config, i: usize) -> Report {
    let start = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
        + chrono::Duration::days((i * 90 / config.total) as i64);
    let end = start + chrono::Duration::days(1);
    let domain = format!("customer{}.example", rng.below(500));
    let org = *rng.pick(ORGS);
    let mut details_left = rng.below(config.max_details + 1);
    let policy_count = 1 + rng.below(4);
    let policies = (0..policy_count)
        .map(|p| {
            let n = if p + 1 == policy_count {
                details_left
            } else {
                rng.below(details_left + 1)
            };
            details_left -= n;
            policy(rng, &domain, n)
        })
        .collect();
    Report {
        organization_name: Some(org.to_owned()),
        date_range: DateRange {
            start,
            end,
            start_raw: start.to_rfc3339(),
            end_raw: end.to_rfc3339(),
        },
        contact_info: Some("smtp-tls-reporting@example.org".to_owned()),
        report_id: Some(format!("{}_{domain}_{i}", start.format("%Y-%m-%d"))),
        policies,
    }
}

fn policy(rng: &mut Rng, domain: &str, details: u64) -> PolicyResult {
    let (policy_type, policy_string) = match rng.below(3) {
        0 => (
            PolicyType::Sts,
            vec![
                "version: STSv1".to_owned(),
                "mode: enforce".to_owned(),
                format!("mx: mx1.{domain}"),
                format!("mx: mx2.{domain}"),
                "max_age: 604800".to_owned(),
            ],
        ),
        1 => (
            PolicyType::Tlsa,
            vec![
                "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6".to_owned(),
            ],
        ),
        _ => (PolicyType::NoPolicyFound, Vec::new()),
    };
    let mx_host = if policy_type == PolicyType::Sts {
        vec![format!("mx1.{domain}"), format!("mx2.{domain}")]
    } else {
        Vec::new()
    };
    let failure_details: Vec<_> = (0..details).map(|_| detail(rng, domain)).collect();
    PolicyResult {
        policy: Policy {
            policy_type,
            policy_string,
            policy_domain: Some(domain.to_owned()),
            mx_host,
        },
        summary: Summary {
            total_successful_session_count: rng.below(100_000),
            total_failure_session_count: failure_details
                .iter()
                .map(|d| d.failed_session_count)
                .sum(),
        },
        failure_details,
    }
}

fn detail(rng: &mut Rng, domain: &str) -> FailureDetail {
    let sending = if rng.below(4) == 0 {
        IpAddr::V6(Ipv6Addr::new(
            0x2001,
            0xdb8,
            0,
            0,
            0,
            0,
            0,
            rng.below(65536) as u16,
        ))
    } else {
        IpAddr::V4(Ipv4Addr::from(rng.next() as u32))
    };
    FailureDetail {
        result_type: rng
            .pick(&[
                ResultType::CertificateExpired,
                ResultType::CertificateHostMismatch,
                ResultType::StarttlsNotSupported,
                ResultType::ValidationFailure,
                ResultType::StsPolicyFetchError,
            ])
            .clone(),
        sending_mta_ip: Some(IpValue::Addr(sending)),
        receiving_mx_hostname: Some(format!("mx{}.{domain}", 1 + rng.below(2))),
        receiving_mx_helo: None,
        receiving_ip: Some(IpValue::Addr(IpAddr::V4(Ipv4Addr::from(rng.next() as u32)))),
        failed_session_count: 1 + rng.below(200),
        additional_information: None,
        failure_reason_code: Some((*rng.pick(REASONS)).to_owned()),
    }
}
