//! The analysis of a generated multi-month dataset, against expectations computed here
//! directly from the generated reports (not from the store's rollups nor the analysis code).

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

async fn seeded(reports: &[Report], dir: &tempfile::TempDir) -> Store {
    let store = Store::open(dir.path().join("a.db").to_str().unwrap())
        .await
        .unwrap();
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
async fn domain_analysis_matches_the_reports() {
    let reports = dataset();
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(&reports, &dir).await;
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
