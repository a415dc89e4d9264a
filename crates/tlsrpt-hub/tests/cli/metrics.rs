//! `GET /metrics` on serve's HTTP listener, scraped by a real Prometheus (Debian package
//! prometheus) started on a loopback port: the scrape must succeed (OpenMetrics parsed) and
//! the values Prometheus stored must be what was sent and stored.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::process::{Command, Stdio};

use chrono::{Days, Utc};

use crate::postgres::Receiver;
use crate::{corpus, run, stderr};

fn request(port: u16, head: &str, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.split(' ').nth(1).unwrap().parse().unwrap();
    (status, answer)
}

fn post(port: u16, body: &[u8]) -> u16 {
    let head = format!(
        "POST /v1/tlsrpt HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    request(port, &head, body).0
}

fn scrape(port: u16) -> String {
    let (status, answer) = request(
        port,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"",
    );
    assert_eq!(status, 200, "{answer}");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/openmetrics-text"),
        "{head}"
    );
    body.to_owned()
}

/// A Prometheus server scraping `target` every second, killed on drop.
struct Prometheus {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn scraping(target: u16) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: tlsrpt\n    \
                 static_configs:\n      - targets: ['127.0.0.1:{target}']\n"
            ),
        )
        .unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("log")).unwrap())
            .spawn()
            .expect("prometheus (Debian package prometheus)");
        Prometheus {
            child,
            port,
            _dir: dir,
        }
    }

    /// `GET /api/v1/<path>?<params>` as JSON, or `None` while Prometheus is not answering.
    fn api(&self, path: &str, params: &[&str]) -> Option<serde_json::Value> {
        let output = Command::new("curl")
            .args(["-sf", "--get"])
            .args(params.iter().flat_map(|p| ["--data-urlencode", p]))
            .arg(format!("http://127.0.0.1:{}/api/v1/{path}", self.port))
            .output()
            .unwrap();
        output
            .status
            .success()
            .then(|| serde_json::from_slice(&output.stdout).unwrap())
    }

    /// Waits for a successful scrape of the target; panics with the scrape error otherwise.
    fn wait_for_scrape(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Some(targets) = self.api("targets", &[]) {
                let target = &targets["data"]["activeTargets"][0];
                if target["health"] == "up" {
                    return;
                }
                assert!(
                    target["lastError"].as_str().unwrap_or("").is_empty(),
                    "scrape failed: {target}"
                );
            }
            assert!(
                std::time::Instant::now() < deadline,
                "Prometheus never scraped"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    /// The value of an instant query with exactly one result.
    fn value(&self, query: &str) -> f64 {
        let answer = self.api("query", &[&format!("query={query}")]).unwrap();
        let results = answer["data"]["result"].as_array().unwrap();
        assert_eq!(results.len(), 1, "{query}: {answer}");
        results[0]["value"][1].as_str().unwrap().parse().unwrap()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn has(exposition: &str, line: &str) -> bool {
    exposition.lines().any(|l| l == line)
}

#[test]
fn metrics_count_submissions_and_show_domain_gauges_from_rollups() {
    // A report about yesterday, stored before serve starts (the gauges are computed from the
    // rollups at start-up, then every minute).
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    let yesterday = Utc::now()
        .date_naive()
        .checked_sub_days(Days::new(1))
        .unwrap();
    let mut report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(corpus("google-2024-validation-failure.json")).unwrap(),
    )
    .unwrap();
    report["date-range"]["start-datetime"] = format!("{yesterday}T00:00:00Z").into();
    report["date-range"]["end-datetime"] = format!("{yesterday}T23:59:59Z").into();
    let file = dir.path().join("recent.json");
    std::fs::write(&file, serde_json::to_vec(&report).unwrap()).unwrap();
    let import = run(&[
        "--db",
        db.to_str().unwrap(),
        "import",
        file.to_str().unwrap(),
    ]);
    assert!(import.status.success(), "{}", stderr(&import));

    let receiver = Receiver::start(db.to_str().unwrap());
    let fresh = std::fs::read(corpus("mailru-2024-fetch-errors.json")).unwrap();
    assert_eq!(post(receiver.port, &fresh), 201);
    assert_eq!(post(receiver.port, &fresh), 200);
    assert_eq!(post(receiver.port, b"hello"), 415);

    let exposition = scrape(receiver.port);
    for line in [
        r#"tlsrpt_submissions_total{origin="http",outcome="stored"} 1"#,
        r#"tlsrpt_submissions_total{origin="http",outcome="duplicate"} 1"#,
        r#"tlsrpt_submissions_total{origin="http",outcome="refused"} 1"#,
        r#"tlsrpt_rejections_total{origin="http",reason="not_a_report"} 1"#,
        r#"tlsrpt_submission_duration_seconds_count{origin="http"} 3"#,
        "tlsrpt_store_up 1",
        r#"tlsrpt_domain_sessions_7d{policy_domain="example.com",result="successful"} 0"#,
        r#"tlsrpt_domain_sessions_7d{policy_domain="example.com",result="failed"} 3"#,
        r#"tlsrpt_domain_failed_sessions_7d{policy_domain="example.com",result_type="validation-failure"} 3"#,
    ] {
        assert!(has(&exposition, line), "{line} missing:\n{exposition}");
    }
    let bytes = 2 * fresh.len() + 5;
    assert!(
        has(
            &exposition,
            &format!(r#"tlsrpt_submission_bytes_total{{origin="http"}} {bytes}"#)
        ),
        "{exposition}"
    );
    let age: f64 = exposition
        .lines()
        .find_map(|l| {
            l.strip_prefix(r#"tlsrpt_domain_last_report_age_seconds{policy_domain="example.com"} "#)
        })
        .unwrap_or_else(|| panic!("no age gauge:\n{exposition}"))
        .parse()
        .unwrap();
    assert!(
        (0.0..86_400.0).contains(&age),
        "yesterday's report ended today: {age}"
    );

    let prometheus = Prometheus::scraping(receiver.port);
    prometheus.wait_for_scrape();
    assert_eq!(
        prometheus.value(r#"tlsrpt_submissions_total{outcome="stored"}"#),
        1.0
    );
    assert_eq!(
        prometheus.value(r#"tlsrpt_domain_failed_sessions_7d{result_type="validation-failure"}"#),
        3.0
    );
    assert_eq!(prometheus.value(r#"up{job="tlsrpt"}"#), 1.0);
    receiver.stop();
}

/// The Prometheus configuration shipped for scraping two receivers (README "Scaling out") is
/// one Prometheus accepts.
#[test]
fn shipped_prometheus_config_is_valid() {
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/prometheus/prometheus.yml");
    let output = Command::new("promtool")
        .args(["check", "config"])
        .arg(&config)
        .output()
        .expect("promtool (Debian package prometheus)");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
