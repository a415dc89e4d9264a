//! The domain page's queries on a PostgreSQL store holding 10,000,000 failure details.
//!
//! A throwaway cluster (tests/support/pg.rs: fsync on, the server's defaults otherwise) gets
//! a year of rows written by SQL `generate_series` straight into the tables (the store's
//! writer would take far longer and is measured elsewhere): one report per
//! (day, domain), one policy each, `details` failure details per policy; every tenth report
//! is for `big.example`, the rest spread over 999 domains. The rollups are then built by
//! the store's own `rebuild_rollups`, and the tables analysed. Then, per domain asked: the
//! queries the web's domain page runs (`tlsrpt-hub/src/web/data.rs`): both daily rollups of
//! the domain in the window, `policies_seen`, `failure_groups`, `failure_spans`; timed
//! together, `rounds` times over a sample of domains and for `big.example` alone.
//!
//! `cargo bench -p tlsrpt-store --bench pg_domain_page -- [reports] [details] [rounds]`
//! (defaults 200000, 50, 200: 10,000,000 failure details). `bench/postgres.sh` runs it.

#[path = "../tests/support/pg.rs"]
mod pg;

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use tlsrpt_store::{RollupFilter, Store};

/// Rows for the sizes given: `$1` reports, `$2` failure details per report.
const GENERATE: [&str; 5] = [
    "SELECT tlsrpt_ensure_partitions(ARRAY(SELECT d::date FROM \
     generate_series('2025-01-01'::date, '2025-12-31'::date, '1 day') d))",
    "INSERT INTO submissions (id, received_at_us, origin, raw_size, raw_sha256, raw_encoding, raw) \
     VALUES (1, 0, 'file', 0, '\\x00', 'as-received', '')",
    "INSERT INTO reports (id, submission_id, dedup_key, organization_name, contact_info, report_id, \
     range_start_us, range_end_us, range_day, start_raw, end_raw, via_message, total_successful, \
     total_failed, stored_at_us, parser_version) \
     SELECT i, 1, 'bench-' || i, (ARRAY['Google LLC', 'Microsoft Corporation', 'Yahoo', \
     'Mail.ru', 'Comcast', 'mail.example.org'])[1 + i % 6], NULL, 'r' || i, 0, 0, \
     '2025-01-01'::date + (i % 365)::int, '', '', false, 1000, $2 * 3, 0, 'bench' \
     FROM generate_series(1, $1::bigint) i",
    "INSERT INTO policies (id, report_id, policy_index, policy_type, policy_domain, \
     policy_string, mx_host, successful, failed, range_day) \
     SELECT i, i, 0, (ARRAY['sts', 'tlsa', 'no-policy-found'])[1 + i % 3], \
     CASE WHEN i % 10 = 0 THEN 'big.example' ELSE 'd' || (i % 999) || '.example' END, \
     '[\"version: STSv1\",\"mode: enforce\"]', '[\"mx1.example\"]', 1000, $2 * 3, \
     '2025-01-01'::date + (i % 365)::int \
     FROM generate_series(1, $1::bigint) i",
    "INSERT INTO failure_details (id, policy_id, report_id, result_type, sending_mta_ip, \
     receiving_mx_hostname, failed_session_count, range_day) \
     SELECT (i - 1) * $2 + j, i, i, \
     (ARRAY['certificate-expired', 'starttls-not-supported', 'validation-failure', \
     'sts-policy-fetch-error', 'tlsa-invalid'])[1 + (i + j) % 5], \
     '192.0.2.' || ((i * 7 + j) % 50), 'mx' || (j % 3) || '.example', 3, \
     '2025-01-01'::date + (i % 365)::int \
     FROM generate_series(1, $1::bigint) i, generate_series(1, $2::bigint) j",
];

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.parse::<i64>().expect("numeric argument"));
    let reports = args.next().unwrap_or(200_000);
    let details = args.next().unwrap_or(50);
    let rounds = args.next().unwrap_or(200) as usize;

    // BENCH_PG_ARGS: more server arguments (e.g. auto_explain's), BENCH_PG_LOG: a file to
    // copy the server's log to at the end.
    let cluster = pg::Cluster::start_with(|_| {
        std::env::var("BENCH_PG_ARGS")
            .map(|a| a.split(' ').map(str::to_owned).collect())
            .unwrap_or_default()
    });
    let url = cluster.fresh_database();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(run(&url, reports, details, rounds));
    if let Ok(path) = std::env::var("BENCH_PG_LOG") {
        std::fs::write(path, cluster.log()).unwrap();
    }
}

async fn run(url: &str, reports: i64, details: i64, rounds: usize) {
    let store = Store::open(url).await.unwrap();
    let started = Instant::now();
    {
        use sqlx::{Connection, Executor};
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        // The rows are consistent by construction: skip the per-row foreign-key checks.
        conn.execute("SET session_replication_role = replica")
            .await
            .unwrap();
        for sql in GENERATE {
            let query = sqlx::query(sql);
            let query = if sql.contains("$1") {
                query.bind(reports).bind(details)
            } else {
                query
            };
            query.execute(&mut conn).await.unwrap();
        }
        conn.execute("RESET session_replication_role")
            .await
            .unwrap();
        let generated = started.elapsed();
        store.rebuild_rollups().await.unwrap();
        conn.execute("ANALYZE").await.unwrap();
        println!(
            "generated {reports} reports, {} failure details in {:.0} s; rollups and ANALYZE \
             {:.0} s more",
            reports * details,
            generated.as_secs_f64(),
            (started.elapsed() - generated).as_secs_f64()
        );
    }
    let counts = store.counts().await.unwrap();
    assert_eq!(counts.failure_details, (reports * details) as u64);

    let to = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
    let from = to - chrono::Days::new(29);
    let sample: Vec<String> = (0..rounds)
        .map(|i| format!("d{}.example", (i * 37) % 999))
        .collect();
    for (label, domains) in [
        ("sampled domains", sample),
        ("big.example", vec!["big.example".to_owned(); rounds]),
    ] {
        let mut times = Vec::with_capacity(rounds);
        let mut rows = 0;
        for domain in &domains {
            let t = Instant::now();
            rows += domain_page(&store, domain, from, to).await;
            times.push(t.elapsed());
        }
        times.sort();
        let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "domain page, 30-day window, {label}: {rounds} rounds, p50 {:.1} ms, p95 {:.1} ms, \
             max {:.1} ms ({} rows per page)",
            ms(at(0.5)),
            ms(at(0.95)),
            ms(times[times.len() - 1]),
            rows / rounds
        );
    }
    println!(
        "load average {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    store.close().await.unwrap();
}

/// The store calls behind one domain page; the number of rows they returned.
async fn domain_page(store: &Store, domain: &str, from: NaiveDate, to: NaiveDate) -> usize {
    let filter = RollupFilter {
        policy_domain: Some(domain.to_owned()),
        from: Some(from),
        to: Some(to),
    };
    let policy_days = store.daily_policy_rollups(&filter).await.unwrap();
    let failure_days = store.daily_failure_rollups(&filter).await.unwrap();
    let policies = store.policies_seen(domain, from, to).await.unwrap();
    let failures = store.failure_groups(domain, from, to).await.unwrap();
    let spans = store.failure_spans(domain).await.unwrap();
    assert!(!policy_days.is_empty() && !failures.is_empty(), "{domain}");
    policy_days.len() + failure_days.len() + policies.len() + failures.len() + spans.len()
}
