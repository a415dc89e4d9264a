//! The analysis of a generated multi-month dataset, against expectations computed here
//! directly from the generated reports (not from the store's rollups nor the analysis code),
//! on SQLite and on PostgreSQL (a throwaway cluster; see tlsrpt-store's tests/support/pg.rs),
//! and the two backends' answers to every dashboard, API and export query compared.

#[path = "../../tlsrpt-store/tests/support/pg.rs"]
mod pg;

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use tlsrpt_analyze::{DomainInput, Window, analyze_domain, overview};
use tlsrpt_core::{ParsedReport, PolicyType, Report};
use tlsrpt_store::{
    AuthResult, Authentication, NewReport, NewSubmission, Origin, RawBlob, RollupFilter, Store,
};

const SEED: u64 = 20_260_105;

fn dataset() -> Vec<Report> {
    tlsrpt_synth::Options {
        seed: SEED,
        count: 2_400,
        start: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
        days: 95,
        domains: Some(12),
        gzip_ratio: 0.0,
    }
    .corpus()
    .expect("valid options")
    .map(|f| f.report)
    .collect()
}

/// A store at `url` holding `reports`, one submission each.
async fn seeded(reports: &[Report], url: &str) -> Store {
    let store = Store::open(url).await.unwrap();
    let batch = reports
        .iter()
        .map(|r| NewSubmission {
            raw: RawBlob::compress(&tlsrpt_core::report::write::to_rfc_json(r)),
            origin: Origin::File,
            source_name: None,
            received_at: r.date_range.end,
            authentication: Authentication::bare(AuthResult::NotChecked),
            quarantined: false,
            reports: vec![NewReport {
                parsed: ParsedReport {
                    report: r.clone(),
                    diagnostics: Vec::new(),
                },
                message: None,
                file_name: None,
                parser_version: tlsrpt_core::PARSER_VERSION.to_owned(),
            }],
        })
        .collect();
    for outcome in store.insert_batch(batch).await.unwrap() {
        outcome.unwrap();
    }
    store
}

/// What a careful person computes from the reports for one domain and window.
#[derive(Debug, Default)]
struct Expected {
    successful: u64,
    failed: u64,
    daily_success: BTreeMap<NaiveDate, u64>,
    daily_by_result: BTreeMap<(NaiveDate, String), u64>,
    by_org: BTreeMap<String, (u64, u64)>,
    by_type: BTreeMap<String, (u64, u64)>,
    by_ip: BTreeMap<String, u64>,
    first_seen: BTreeMap<String, NaiveDate>,
    last_seen: BTreeMap<String, NaiveDate>,
    dane_host_sessions: u64,
    last_day: Option<NaiveDate>,
}

fn expected(reports: &[Report], domain: &str, window: &Window) -> Expected {
    let mut e = Expected::default();
    for r in reports {
        let day = r.date_range.start.date_naive();
        for p in &r.policies {
            if p.policy.policy_domain.as_deref().unwrap_or("") != domain {
                continue;
            }
            for d in &p.failure_details {
                let t = d.result_type.as_str().to_owned();
                let first = e.first_seen.entry(t.clone()).or_insert(day);
                *first = (*first).min(day);
                let last = e.last_seen.entry(t).or_insert(day);
                *last = (*last).max(day);
            }
            if !window.contains(day) {
                continue;
            }
            let s = p.summary.total_successful_session_count;
            let f = p.summary.total_failure_session_count;
            e.successful += s;
            e.failed += f;
            e.last_day = e.last_day.max(Some(day));
            *e.daily_success.entry(day).or_default() += s;
            let org = e
                .by_org
                .entry(r.organization_name.clone().unwrap_or_default())
                .or_default();
            org.0 += s;
            org.1 += f;
            let ty = e
                .by_type
                .entry(p.policy.policy_type.as_str().to_owned())
                .or_default();
            ty.0 += s;
            ty.1 += f;
            // A DANE host report: a tlsa policy next to policies for other domains, or
            // for a host some policy of the report names as MX.
            let host = r.policies.iter().any(|q| {
                q.policy.policy_domain.as_deref() != Some(domain)
                    || q.policy.mx_host.iter().any(|mx| mx == domain)
            });
            if p.policy.policy_type == PolicyType::Tlsa && host {
                e.dane_host_sessions += s + f;
            }
            for d in &p.failure_details {
                *e.daily_by_result
                    .entry((day, d.result_type.as_str().to_owned()))
                    .or_default() += d.failed_session_count;
                let ip = d
                    .sending_mta_ip
                    .as_ref()
                    .map_or("(not given)".to_owned(), |ip| ip.to_string());
                *e.by_ip.entry(ip).or_default() += d.failed_session_count;
            }
        }
    }
    e
}

#[tokio::test(flavor = "current_thread")]
async fn domain_analysis_matches_the_reports_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    domain_analysis_matches_the_reports(dir.path().join("a.db").to_str().unwrap()).await;
}

#[tokio::test(flavor = "current_thread")]
async fn domain_analysis_matches_the_reports_postgres() {
    domain_analysis_matches_the_reports(&pg::Cluster::shared().fresh_database()).await;
}

async fn domain_analysis_matches_the_reports(url: &str) {
    let reports = dataset();
    let store = seeded(&reports, url).await;
    let last = reports
        .iter()
        .map(|r| r.date_range.start.date_naive())
        .max()
        .unwrap();
    let window = Window::ending(last, 30);

    let domains: BTreeSet<String> = reports
        .iter()
        .flat_map(|r| r.policies.iter())
        .filter_map(|p| p.policy.policy_domain.clone())
        .collect();
    assert!(domains.len() >= 10, "the dataset covers many domains");
    let mut saw_failures = false;
    let mut saw_dane_host = false;
    for domain in &domains {
        let filter = RollupFilter {
            policy_domain: Some(domain.clone()),
            from: Some(window.from),
            to: Some(window.to),
        };
        let policy_days = store.daily_policy_rollups(&filter).await.unwrap();
        let failure_days = store.daily_failure_rollups(&filter).await.unwrap();
        let policies = store
            .policies_seen(domain, window.from, window.to)
            .await
            .unwrap();
        let failures = store
            .failure_groups(domain, window.from, window.to)
            .await
            .unwrap();
        let spans = store.failure_spans(domain).await.unwrap();
        let a = analyze_domain(&DomainInput {
            domain,
            window,
            policy_days: &policy_days,
            failure_days: &failure_days,
            policies: &policies,
            failures: &failures,
            spans: &spans,
        });
        let e = expected(&reports, domain, &window);

        assert_eq!(a.totals.successful, e.successful, "{domain} successful");
        assert_eq!(a.totals.failed, e.failed, "{domain} failed");
        assert_eq!(a.last_day, e.last_day, "{domain} last day");
        if e.successful + e.failed > 0 {
            let rate = e.successful as f64 * 100.0 / (e.successful + e.failed) as f64;
            assert!((a.totals.success_rate.unwrap() - rate).abs() < 1e-9);
        }
        assert_eq!(a.daily.len(), 30);
        for point in &a.daily {
            assert_eq!(
                point.successful,
                e.daily_success.get(&point.day).copied().unwrap_or(0),
                "{domain} {} successes",
                point.day
            );
            for (t, n) in &point.by_result {
                assert_eq!(
                    Some(n),
                    e.daily_by_result.get(&(point.day, t.clone())),
                    "{domain} {} {t}",
                    point.day
                );
            }
        }
        let daily_failures: usize = a.daily.iter().map(|p| p.by_result.len()).sum();
        assert_eq!(
            daily_failures,
            e.daily_by_result.len(),
            "{domain} failure cells"
        );
        let orgs: BTreeMap<String, (u64, u64)> = a
            .by_organization
            .iter()
            .map(|r| {
                (
                    r.organization.clone(),
                    (r.totals.successful, r.totals.failed),
                )
            })
            .collect();
        assert_eq!(orgs, e.by_org, "{domain} by organization");
        let types: BTreeMap<String, (u64, u64)> = a
            .by_policy_type
            .iter()
            .map(|b| (b.key.clone(), (b.totals.successful, b.totals.failed)))
            .collect();
        assert_eq!(types, e.by_type, "{domain} by policy type");
        let ips: BTreeMap<String, u64> = a
            .failures_by_sending_ip
            .iter()
            .map(|b| (b.key.clone(), b.totals.failed))
            .collect();
        assert_eq!(ips, e.by_ip, "{domain} by sending IP");
        assert_eq!(a.dane_host_totals.sessions, e.dane_host_sessions);
        assert_eq!(
            a.recipient_totals.sessions + a.dane_host_totals.sessions,
            e.successful + e.failed
        );
        for f in &a.findings {
            assert_eq!(Some(&f.first_seen), e.first_seen.get(&f.result_type));
            assert_eq!(Some(&f.last_seen), e.last_seen.get(&f.result_type));
            assert_eq!(f.new, f.first_seen >= window.to.pred_opt().unwrap());
            assert!(!f.cause.is_empty() && !f.action.is_empty());
            saw_failures = true;
        }
        saw_dane_host |= e.dane_host_sessions > 0;
        // Readiness is only decided for MTA-STS testing domains; it names its evidence.
        let sts_modes: BTreeSet<&str> = a.by_sts_mode.iter().map(|b| b.key.as_str()).collect();
        if a.by_policy_type
            .iter()
            .all(|b| b.key != PolicyType::Sts.as_str())
        {
            assert_eq!(a.readiness.verdict, tlsrpt_analyze::Verdict::NotApplicable);
        } else {
            assert!(!sts_modes.is_empty() || a.readiness.current_mode.is_none());
            assert!(!a.readiness.evidence.is_empty());
        }
    }
    assert!(saw_failures, "the dataset has failures to analyse");
    assert!(
        saw_dane_host,
        "the dataset has DANE MX-host reports to keep apart"
    );

    // The overview's totals are the same sums.
    let days = store.domain_days(window.from, window.to).await.unwrap();
    let failures = store
        .daily_failure_rollups(&RollupFilter {
            policy_domain: None,
            from: Some(window.from),
            to: Some(window.to),
        })
        .await
        .unwrap();
    let lines = overview(&days, &failures, &window);
    for line in &lines {
        let e = expected(&reports, &line.domain, &window);
        assert_eq!(line.totals.successful, e.successful, "{}", line.domain);
        assert_eq!(line.totals.failed, e.failed, "{}", line.domain);
        let spark: u64 = line.sparkline.iter().map(|p| p.successful).sum();
        assert_eq!(spark, e.successful);
    }
    store.close().await.unwrap();
}

/// Every dashboard, API and export query answers the same on SQLite and on PostgreSQL
/// holding the same rows: same rows, same order, same sums, page after page. PostgreSQL
/// gets SQLite's rows by `tlsrpt-hub migrate`'s copy, so ids agree too (each backend numbers
/// the reports of one batch in its own order; `domain_analysis_matches_the_reports_postgres`
/// covers PostgreSQL's own writes).
#[tokio::test(flavor = "current_thread")]
async fn dashboard_queries_answer_alike_on_sqlite_and_postgres() {
    use tlsrpt_store::{ExportFilter, ReportFilter, ReportId};

    let reports = dataset();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = seeded(&reports, dir.path().join("a.db").to_str().unwrap()).await;
    let postgres = Store::open(&pg::Cluster::shared().fresh_database())
        .await
        .unwrap();
    sqlite.copy_into(&postgres, |_| {}).await.unwrap();
    let stores = [&sqlite, &postgres];

    let first = reports
        .iter()
        .map(|r| r.date_range.start.date_naive())
        .min()
        .unwrap();
    let last = reports
        .iter()
        .map(|r| r.date_range.start.date_naive())
        .max()
        .unwrap();
    let windows = [
        Window::ending(last, 30),
        Window::ending(last, 7),
        Window {
            from: first,
            to: last,
        },
    ];
    let mut domains: BTreeSet<String> = reports
        .iter()
        .flat_map(|r| r.policies.iter())
        .filter_map(|p| p.policy.policy_domain.clone())
        .collect();
    domains.insert("not-reported.example".into());

    /// Both stores' answers to one query, asserted equal and returned (SQLite's).
    macro_rules! alike {
        ($what:expr, |$s:ident| $query:expr) => {{
            let [a, b] = stores;
            let answers = {
                let $s = a;
                $query.await.unwrap()
            };
            let other = {
                let $s = b;
                $query.await.unwrap()
            };
            assert_eq!(answers, other, "{}", $what);
            answers
        }};
    }

    let mut dane_hosts = 0;
    let mut failure_groups = 0;
    for window in &windows {
        let days = alike!("domain days", |s| s.domain_days(window.from, window.to));
        assert!(!days.is_empty());
        for domain in &domains {
            let seen = alike!(domain, |s| s.policies_seen(domain, window.from, window.to));
            dane_hosts += seen.iter().filter(|p| p.dane_host).count();
            let groups = alike!(domain, |s| s.failure_groups(domain, window.from, window.to));
            failure_groups += groups.len();
            alike!(domain, |s| s.failure_spans(domain));
        }
    }
    assert!(
        dane_hosts > 0 && failure_groups > 0,
        "the dataset covers them"
    );

    let organization = reports[0].organization_name.clone();
    let domain = domains.first().cloned();
    let filters = [
        ReportFilter::default(),
        ReportFilter {
            organization,
            ..ReportFilter::default()
        },
        ReportFilter {
            policy_domain: domain.clone(),
            has_failures: Some(true),
            ..ReportFilter::default()
        },
        ReportFilter {
            has_failures: Some(false),
            has_diagnostics: Some(false),
            from: Some(windows[0].from),
            ..ReportFilter::default()
        },
        ReportFilter {
            to: Some(windows[0].from),
            ..ReportFilter::default()
        },
    ];
    let mut listed = 0;
    for filter in filters {
        let mut filter = ReportFilter {
            limit: 97,
            ..filter
        };
        loop {
            let page = alike!(format!("{filter:?}"), |s| s.reports(&filter));
            let Some(oldest) = page.last() else { break };
            filter.before = Some(oldest.id);
            listed += page.len();
        }
    }
    assert!(listed > reports.len(), "every report listed at least once");

    for id in [1, 2, 500, 2_400, 2_401] {
        let a = sqlite.report_by_id(ReportId(id)).await.unwrap();
        let b = postgres.report_by_id(ReportId(id)).await.unwrap();
        // The store's own clock stamps the rest; the report and where it came from agree.
        let strip = |r: Option<(tlsrpt_store::StoredReport, tlsrpt_store::Provenance)>| {
            r.map(|(r, p)| (r.parsed, r.dedup_key, r.submission_id, p))
        };
        assert_eq!(strip(a.clone()), strip(b), "report {id}");
        assert_eq!(a.is_some(), id <= 2_400);
    }

    let exports = [
        ExportFilter::default(),
        ExportFilter {
            policy_domain: domain,
            from: Some(windows[0].from),
            to: Some(windows[1].from),
            ..ExportFilter::default()
        },
    ];
    let (mut policies, mut failures) = (0, 0);
    for export in exports {
        let mut filter = ExportFilter {
            limit: 251,
            ..export.clone()
        };
        loop {
            let page = alike!("policies", |s| s.export_policies(&filter));
            let Some(last) = page.last() else { break };
            filter.after = last.row_id;
            policies += page.len();
        }
        let mut filter = ExportFilter {
            limit: 251,
            ..export
        };
        loop {
            let page = alike!("failures", |s| s.export_failures(&filter));
            let Some(last) = page.last() else { break };
            filter.after = last.row_id;
            failures += page.len();
        }
    }
    let counts = sqlite.counts().await.unwrap();
    assert!(policies as u64 > counts.policies && failures as u64 > counts.failure_details);
    sqlite.close().await.unwrap();
    postgres.close().await.unwrap();
}
