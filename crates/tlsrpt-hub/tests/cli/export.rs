//! Exports (API and `tlsrpt-hub export`): one row per failure detail or per policy, each with
//! its report and policy context; the CLI and the API give the same bytes.

use crate::run;
use crate::web::{Seeded, WebServer};

#[test]
fn failure_rows_keep_their_policy_domain_and_cli_equals_api() {
    let seeded = Seeded::new();
    let server = WebServer::start(&seeded, None);
    let details: Vec<(String, u64)> = seeded
        .reports
        .iter()
        .flat_map(|r| r.policies.iter())
        .flat_map(|p| {
            p.failure_details.iter().map(|d| {
                (
                    p.policy.policy_domain.clone().unwrap_or_default(),
                    d.failed_session_count,
                )
            })
        })
        .collect();
    assert!(details.len() > 100, "enough failures to export");

    let csv = server.get("/api/v1/export/failures.csv", &[]);
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let mut reader = csv::Reader::from_reader(csv.body.as_slice());
    let headers = reader.headers().unwrap().clone();
    let domain_col = headers.iter().position(|h| h == "policy_domain").unwrap();
    let count_col = headers
        .iter()
        .position(|h| h == "failed_session_count")
        .unwrap();
    let mut rows: Vec<(String, u64)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[domain_col].to_owned(), r[count_col].parse().unwrap())
        })
        .collect();
    let mut want = details.clone();
    rows.sort();
    want.sort();
    assert_eq!(rows, want);

    let ndjson = server.get("/api/v1/export/failures.ndjson", &[]);
    let lines: Vec<serde_json::Value> = ndjson
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), details.len());
    assert!(
        lines
            .iter()
            .all(|l| l["policy"]["policy_domain"].is_string()
                && l["report"]["organization_name"].is_string()
                && l.get("row_id").is_none())
    );

    let policies = server.get("/api/v1/export/policies.ndjson", &[]);
    let policy_count: usize = seeded.reports.iter().map(|r| r.policies.len()).sum();
    assert_eq!(policies.text().lines().count(), policy_count);
    assert_eq!(server.get("/api/v1/export/everything.xml", &[]).status, 404);

    // The CLI writes the same bytes, with the same filters.
    let db = seeded.db();
    let domain = &details[0].0;
    for (rows, format) in [("failures", "csv"), ("policies", "ndjson")] {
        let cli = run(&[
            "--db",
            db.to_str().unwrap(),
            "export",
            "--rows",
            rows,
            "--format",
            format,
            "--domain",
            domain,
        ]);
        assert!(cli.status.success(), "{cli:?}");
        let api = server.get(
            &format!("/api/v1/export/{rows}.{format}?domain={domain}"),
            &[],
        );
        assert_eq!(cli.stdout, api.body, "{rows}.{format}");
        assert!(!cli.stdout.is_empty());
    }
    let bad = run(&["--db", db.to_str().unwrap(), "export", "--from", "soon"]);
    assert!(!bad.status.success());
}
