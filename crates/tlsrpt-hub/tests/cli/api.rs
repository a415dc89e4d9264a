//! `/api/v1/…`: every endpoint's status, its shape against the served OpenAPI document, and
//! its numbers against sums computed here from the generated reports.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::web::{Seeded, WebServer, XSS_DOMAIN, XSS_ORG};

/// Validates `value` against `#/components/schemas/{name}` of the OpenAPI document.
pub(crate) fn assert_shape(openapi: &Value, name: &str, value: &Value) {
    let schema = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{name}"),
        "components": openapi["components"],
    });
    let validator = jsonschema::validator_for(&schema).expect("the OpenAPI schemas compile");
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}");
}

/// Sessions per policy domain in the window, from the reports themselves.
fn sums(seeded: &Seeded) -> BTreeMap<String, (u64, u64)> {
    let mut out: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in &seeded.reports {
        let day = r.date_range.start.date_naive();
        if day < seeded.window_from() || day > seeded.last_day {
            continue;
        }
        for p in &r.policies {
            let e = out
                .entry(p.policy.policy_domain.clone().unwrap_or_default())
                .or_default();
            e.0 += p.summary.total_successful_session_count;
            e.1 += p.summary.total_failure_session_count;
        }
    }
    out
}

#[test]
fn every_endpoint_answers_in_the_documented_shape_with_the_right_numbers() {
    let seeded = Seeded::new();
    let server = WebServer::start(&seeded, None);
    let w = seeded.window();

    let doc = server.get("/api/v1/openapi.json", &[]);
    assert_eq!(doc.status, 200);
    let openapi = doc.json();
    assert_eq!(openapi["openapi"], "3.1.0");
    for path in openapi["paths"].as_object().unwrap().keys() {
        assert!(path.starts_with("/api/v1/"), "{path}");
    }

    // Domains: every domain on one page, totals equal to the reports' sums.
    let expected = sums(&seeded);
    let domains = server.get(&format!("/api/v1/domains?{w}&per_page=1000"), &[]);
    assert_eq!(domains.status, 200);
    let domains = domains.json();
    assert_shape(&openapi, "DomainPage", &domains);
    let listed: BTreeMap<String, (u64, u64)> = domains["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["domain"].as_str().unwrap().to_owned(),
                (
                    d["totals"]["successful"].as_u64().unwrap(),
                    d["totals"]["failed"].as_u64().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(domains["total"].as_u64().unwrap() as usize, expected.len());

    // Paging, filtering and sorting.
    let page2 = server
        .get(
            &format!("/api/v1/domains?{w}&per_page=5&page=2&sort=failed&order=desc"),
            &[],
        )
        .json();
    assert_shape(&openapi, "DomainPage", &page2);
    let mut by_failed: Vec<(u64, String)> =
        expected.iter().map(|(d, (_, f))| (*f, d.clone())).collect();
    by_failed.sort();
    by_failed.reverse();
    let second: Vec<u64> = page2["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["totals"]["failed"].as_u64().unwrap())
        .collect();
    let want: Vec<u64> = by_failed.iter().skip(5).take(5).map(|(f, _)| *f).collect();
    assert_eq!(second, want);
    let only = server
        .get(&format!("/api/v1/domains?{w}&q={XSS_DOMAIN}"), &[])
        .json();
    assert_eq!(only["total"], 1);
    assert_eq!(only["domains"][0]["domain"], XSS_DOMAIN);
    assert_eq!(server.get("/api/v1/domains?days=0", &[]).status, 400);
    assert_eq!(server.get("/api/v1/domains?sort=nonsense", &[]).status, 400);

    // One domain: summary, timeseries, breakdowns.
    let (domain, (successful, failed)) = expected
        .iter()
        .filter(|(d, _)| !d.is_empty())
        .max_by_key(|(_, (_, f))| *f)
        .unwrap();
    let summary = server.get(&format!("/api/v1/domains/{domain}?{w}"), &[]);
    assert_eq!(summary.status, 200);
    let summary = summary.json();
    assert_shape(&openapi, "DomainAnalysis", &summary);
    assert_eq!(summary["totals"]["successful"].as_u64(), Some(*successful));
    assert_eq!(summary["totals"]["failed"].as_u64(), Some(*failed));
    assert!(!summary["findings"].as_array().unwrap().is_empty());
    assert!(
        !summary["readiness"]["evidence"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let series = server
        .get(&format!("/api/v1/domains/{domain}/timeseries?{w}"), &[])
        .json();
    assert_shape(&openapi, "Timeseries", &series);
    let daily = series["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 30);
    let mut per_day: BTreeMap<String, u64> = BTreeMap::new();
    for r in &seeded.reports {
        for p in &r.policies {
            if p.policy.policy_domain.as_deref() == Some(domain) {
                *per_day
                    .entry(r.date_range.start.date_naive().to_string())
                    .or_default() += p.summary.total_successful_session_count;
            }
        }
    }
    for point in daily {
        let day = point["day"].as_str().unwrap();
        assert_eq!(
            point["successful"].as_u64().unwrap(),
            per_day.get(day).copied().unwrap_or(0),
            "{day}"
        );
    }

    let breakdowns = server
        .get(&format!("/api/v1/domains/{domain}/breakdowns?{w}"), &[])
        .json();
    assert_shape(&openapi, "Breakdowns", &breakdowns);
    let org_sessions: u64 = breakdowns["by_organization"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["totals"]["sessions"].as_u64().unwrap())
        .sum();
    assert_eq!(org_sessions, successful + failed);

    let missing = server.get(&format!("/api/v1/domains/nowhere.invalid?{w}"), &[]);
    assert_eq!(missing.status, 404);
    assert_shape(&openapi, "Error", &missing.json());

    // Reports: filters and keyset pages.
    let all = collect_reports(&server, &openapi, "");
    assert_eq!(all.len(), seeded.reports.len());
    let with_failures = collect_reports(&server, &openapi, "&has_failures=true");
    let expected_failing = seeded
        .reports
        .iter()
        .filter(|r| {
            r.policies
                .iter()
                .any(|p| p.summary.total_failure_session_count > 0)
        })
        .count();
    assert_eq!(with_failures.len(), expected_failing);
    let for_domain = collect_reports(&server, &openapi, &format!("&domain={domain}"));
    let expected_for_domain = seeded
        .reports
        .iter()
        .filter(|r| {
            r.policies
                .iter()
                .any(|p| p.policy.policy_domain.as_deref() == Some(domain))
        })
        .count();
    assert_eq!(for_domain.len(), expected_for_domain);
    let evil = server
        .get(
            "/api/v1/reports?org=%3Cscript%3Econsole.error(%22xss%22)%3C%2Fscript%3EEvil%20Org",
            &[],
        )
        .json();
    assert_eq!(evil["reports"].as_array().unwrap().len(), 1);
    assert_eq!(evil["reports"][0]["organization_name"], XSS_ORG);
    assert_eq!(
        server.get("/api/v1/reports?from=yesterday", &[]).status,
        400
    );

    // Report detail, normalised JSON and the raw bytes as received.
    let id = evil["reports"][0]["id"].as_i64().unwrap();
    let detail = server.get(&format!("/api/v1/reports/{id}"), &[]).json();
    assert_shape(&openapi, "ReportDetail", &detail);
    assert_eq!(detail["report"]["organization-name"], XSS_ORG);
    let json = server.get(&format!("/api/v1/reports/{id}/json"), &[]);
    assert_eq!(json.status, 200);
    assert_shape(&openapi, "RfcReport", &json.json());
    let raw = server.get(&format!("/api/v1/reports/{id}/raw"), &[]);
    assert_eq!(raw.status, 200);
    assert_eq!(
        raw.body,
        seeded.files["evil.example!xss.example!1!2!evil-1.json"]
    );
    let some_gz = all
        .iter()
        .find(|r| r["source_name"].as_str().unwrap().ends_with(".gz"))
        .expect("a gzip file was imported");
    let name = some_gz["source_name"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let raw = server.get(&format!("/api/v1/reports/{}/raw", some_gz["id"]), &[]);
    assert_eq!(raw.body, seeded.files[name], "gzip kept as received");
    assert_eq!(server.get("/api/v1/reports/999999", &[]).status, 404);
}

fn collect_reports(server: &WebServer, openapi: &Value, filter: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut before = String::new();
    loop {
        let page = server.get(&format!("/api/v1/reports?limit=100{filter}{before}"), &[]);
        assert_eq!(page.status, 200, "{}", page.text());
        let page = page.json();
        assert_shape(openapi, "ReportList", &page);
        out.extend(page["reports"].as_array().unwrap().iter().cloned());
        match page["next_before"].as_i64() {
            Some(id) => before = format!("&before={id}"),
            None => return out,
        }
    }
}
