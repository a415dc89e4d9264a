//! Alerts end to end: a report posted to `serve` opens alerts (evaluated right after it is
//! stored), `/api/v1/alerts` lists them in the documented shape, acknowledge and mute work
//! over the API and the CLI, and bad input is refused with a clear answer.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use chrono::{Days, Utc};
use serde_json::Value;

use crate::api::assert_shape;
use crate::{hub, run, stderr, stdout};

struct Serve {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Serve {
    fn start(dir: &Path) -> Serve {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.join("hub.toml");
        std::fs::write(
            &config,
            format!(
                "database = {db:?}\n[http]\nlisten = \"127.0.0.1:{port}\"\n\
                 [[domains]]\nname = \"example.com\"\n[checks]\nenabled = false\n\
                 [alerts]\ndebounce_secs = 0\npublic_url = \"https://tlsrpt.example.net\"\n",
                db = dir.join("hub.db").to_str().unwrap()
            ),
        )
        .unwrap();
        let log = dir.join("serve.log");
        let child = hub()
            .args(["-v", "serve", "--config"])
            .arg(&config)
            .env("NO_COLOR", "1")
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let serve = Serve { child, port, log };
        serve.wait_for(|log| log.contains("serving;"));
        serve
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_for(&self, done: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done(&self.log()) {
            assert!(Instant::now() < deadline, "{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// (status, body) of a request made with curl.
    fn curl(&self, method: &str, path: &str, extra: &[&str]) -> (u16, String) {
        let output = Command::new("curl")
            .args([
                "-s",
                "-w",
                "\n%{http_code}",
                "-X",
                method,
                "--max-time",
                "30",
            ])
            .args(extra)
            .arg(format!("http://127.0.0.1:{}{path}", self.port))
            .output()
            .expect("curl runs");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').expect("a status line");
        (status.parse().expect("a status"), body.to_owned())
    }

    fn json(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let extra: Vec<&str> = match body {
            Some(body) => vec!["-H", "Content-Type: application/json", "--data", body],
            None => Vec::new(),
        };
        let (status, text) = self.curl(method, path, &extra);
        let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        (status, value)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Yesterday's report by Google: 90 good sessions and 10 that met an expired certificate
/// at mx2.example.com.
fn expired_certificate_report() -> String {
    let day = Utc::now().date_naive() - Days::new(1);
    format!(
        r#"{{"organization-name":"Google Inc.","date-range":{{"start-datetime":"{day}T00:00:00Z","end-datetime":"{day}T23:59:59Z"}},"contact-info":"smtp-tls-reporting@google.com","report-id":"alerts-e2e","policies":[{{"policy":{{"policy-type":"sts","policy-string":["version: STSv1","mode: enforce","mx: mx2.example.com","max_age: 86400"],"policy-domain":"example.com","mx-host":["mx2.example.com"]}},"summary":{{"total-successful-session-count":90,"total-failure-session-count":10}},"failure-details":[{{"result-type":"certificate-expired","sending-mta-ip":"209.85.220.41","receiving-mx-hostname":"mx2.example.com","failed-session-count":10}}]}}]}}"#
    )
}

#[test]
fn a_stored_report_opens_alerts_that_the_api_and_cli_act_on() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path());
    let (status, _) = serve.curl(
        "POST",
        "/v1/tlsrpt",
        &[
            "-H",
            "Content-Type: application/tlsrpt+json",
            "--data-binary",
            &expired_certificate_report(),
        ],
    );
    assert_eq!(status, 201, "{}", serve.log());
    serve.wait_for(|log| log.contains("alert:") && log.contains("low-success-rate"));

    let (_, openapi) = serve.json("GET", "/api/v1/openapi.json", None);
    let (status, list) = serve.json("GET", "/api/v1/alerts", None);
    assert_eq!(status, 200);
    assert_shape(&openapi, "AlertList", &list);
    let alerts = list["alerts"].as_array().unwrap();
    let rules: Vec<&str> = alerts.iter().map(|a| a["rule"].as_str().unwrap()).collect();
    assert_eq!(rules.len(), 2, "{list:#}");
    assert!(rules.contains(&"certificate-failure") && rules.contains(&"low-success-rate"));
    let critical = alerts
        .iter()
        .find(|a| a["rule"] == "certificate-failure")
        .unwrap();
    let id = critical["id"].as_i64().unwrap();
    assert_eq!(critical["severity"], "critical");
    assert_eq!(critical["state"], "open");
    let title = critical["alert"]["title"].as_str().unwrap();
    assert!(
        title.contains("mx2.example.com") && title.contains("Google Inc."),
        "{title}"
    );
    assert_eq!(
        critical["alert"]["evidence"]["sending_mta_ips"],
        serde_json::json!(["209.85.220.41"])
    );
    assert!(
        serve
            .log()
            .contains("Certificate failure for example.com at mx2.example.com")
    );

    let (_, only) = serve.json(
        "GET",
        "/api/v1/alerts?severity=critical&domain=example.com",
        None,
    );
    assert_eq!(only["alerts"].as_array().unwrap().len(), 1);
    let (_, none) = serve.json("GET", "/api/v1/alerts?state=resolved", None);
    assert_eq!(none["alerts"], serde_json::json!([]));
    let (status, error) = serve.json("GET", "/api/v1/alerts?state=closed", None);
    assert_eq!(status, 400);
    assert_shape(&openapi, "Error", &error);

    let (status, acked) = serve.json(
        "POST",
        &format!("/api/v1/alerts/{id}/acknowledge"),
        Some(r#"{"by":"alice"}"#),
    );
    assert_eq!(status, 200, "{acked}");
    assert_shape(&openapi, "AlertView", &acked);
    assert_eq!(acked["acknowledged_by"], "alice");
    let (status, muted) = serve.json(
        "POST",
        &format!("/api/v1/alerts/{id}/mute"),
        Some(r#"{"for":"7d"}"#),
    );
    assert_eq!(status, 200, "{muted}");
    assert_eq!(muted["muted"], true);
    let (status, _) = serve.json(
        "POST",
        &format!("/api/v1/alerts/{id}/mute"),
        Some(r#"{"for":"a while"}"#),
    );
    assert_eq!(status, 400);
    let (status, _) = serve.json("POST", "/api/v1/alerts/999999/acknowledge", Some("{}"));
    assert_eq!(status, 404);
    // A form post (what another site could make a browser send) is refused.
    let (status, _) = serve.curl(
        "POST",
        &format!("/api/v1/alerts/{id}/mute"),
        &["--data", "for=30d"],
    );
    assert_eq!(status, 415);

    let db = dir.path().join("hub.db");
    let db = db.to_str().unwrap();
    let listed = run(&["alerts", "list", "--db", db]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let text = stdout(&listed);
    assert!(text.contains(&format!("#{id} ")), "{text}");
    assert!(text.contains("acknowledged by alice, muted"), "{text}");
    let json = run(&["alerts", "list", "--db", db, "--format", "json"]);
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);

    let unmute = run(&["alerts", "mute", &id.to_string(), "--for", "0d", "--db", db]);
    assert!(
        stdout(&unmute).starts_with("unmuted:"),
        "{}",
        stderr(&unmute)
    );
    let ack = run(&["alerts", "ack", &id.to_string(), "--by", "bob", "--db", db]);
    assert!(
        stdout(&ack).contains("acknowledged by bob"),
        "{}",
        stderr(&ack)
    );
    let (_, after) = serve.json("GET", "/api/v1/alerts?severity=critical", None);
    assert_eq!(after["alerts"][0]["acknowledged_by"], "bob");
    assert_eq!(after["alerts"][0]["muted"], false);

    for page in ["/", "/domains/example.com"] {
        let (status, html) = serve.curl("GET", page, &[]);
        assert_eq!(status, 200, "{page}");
        let open = html.split("id=\"open-alerts\"").nth(1).expect(page);
        assert!(
            open.contains("Certificate failure for example.com"),
            "{page}: {open}"
        );
    }

    // The dashboard page: acknowledge by form, with the CSRF token it handed out.
    let jar = dir.path().join("cookies");
    let jar = jar.to_str().unwrap();
    let (status, html) = serve.curl("GET", "/alerts", &["-c", jar]);
    assert_eq!(status, 200);
    assert!(
        html.contains("Certificate failure for example.com at mx2.example.com"),
        "{html}"
    );
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF token in the form");
    let form = |token: &str| format!("csrf={token}");
    let path = format!("/alerts/{id}/acknowledge");
    let (status, _) = serve.curl("POST", &path, &["-b", jar, "--data", &form("forged")]);
    assert_eq!(status, 403, "a wrong token is refused");
    let (status, _) = serve.curl("POST", &path, &["--data", &form(csrf)]);
    assert_eq!(
        status, 403,
        "the token alone, without its cookie, is refused"
    );
    let (status, _) = serve.curl("POST", &path, &["-b", jar, "--data", &form(csrf)]);
    assert_eq!(status, 303);
    let (_, after) = serve.json("GET", "/api/v1/alerts?severity=critical", None);
    assert_eq!(after["alerts"][0]["acknowledged_by"], "dashboard");

    let missing = run(&["alerts", "ack", "999999", "--db", db]);
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("no alert 999999"),
        "{}",
        stderr(&missing)
    );
    let bad = run(&["alerts", "mute", &id.to_string(), "--for", "7", "--db", db]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("is no duration"), "{}", stderr(&bad));
}
