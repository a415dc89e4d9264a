//! The dashboard in a real browser: headless Chromium (Debian `chromium`) loads each page
//! of a seeded store, runs its JavaScript, and dumps the resulting DOM; the numbers shown
//! must be the API's, the console must stay silent, and screenshots are kept under
//! `target/test-artifacts/dashboard/` for a human to look at.

use std::process::Command;

use crate::web::{Seeded, WebServer, XSS_DOMAIN, artifact};

const CHROMIUM: &str = "chromium";

/// Loads `url`; returns the DOM after scripts ran and the browser's console lines.
fn load(url: &str, screenshot: &str) -> (String, Vec<String>) {
    let profile = tempfile::tempdir().unwrap();
    let base = |command: &mut Command| {
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--disable-background-networking",
                "--enable-logging=stderr",
                "--v=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()));
    };
    let mut dump = Command::new(CHROMIUM);
    base(&mut dump);
    let output = dump
        .args(["--virtual-time-budget=3000", "--dump-dom", url])
        .output()
        .expect("chromium runs (apt-get install chromium)");
    assert!(output.status.success(), "{output:?}");
    let console = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| l.contains("CONSOLE"))
        .map(str::to_owned)
        .collect();
    for (name, size) in [
        (screenshot.to_owned(), "1280,2400"),
        (format!("phone-{screenshot}"), "390,1600"),
    ] {
        let path = artifact(&name);
        let mut shot = Command::new(CHROMIUM);
        base(&mut shot);
        let status = shot
            .arg(format!("--screenshot={}", path.display()))
            .arg(format!("--window-size={size}"))
            .arg("--hide-scrollbars")
            .arg(url)
            .output()
            .unwrap();
        assert!(status.status.success(), "{status:?}");
        let png = std::fs::read(&path).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 5_000, "{name}");
    }
    (String::from_utf8(output.stdout).unwrap(), console)
}

/// The text of the element with `id` (first text node; enough for our number cells).
fn by_id(dom: &str, id: &str) -> String {
    let at = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let rest = &dom[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest[start..].find('<').unwrap();
    rest[start..start + end].trim().to_owned()
}

#[test]
fn pages_show_the_api_numbers_with_charts_and_no_console_errors() {
    let seeded = Seeded::new();
    let server = WebServer::start(&seeded, None);
    let w = seeded.window();
    let api = server
        .get(&format!("/api/v1/domains?{w}&per_page=1000"), &[])
        .json();

    // Overview: every domain's sessions and failed count as the API has them.
    let (dom, console) = load(&server.url(&format!("/?{w}&per_page=1000")), "overview.png");
    assert!(console.is_empty(), "console: {console:#?}");
    for d in api["domains"].as_array().unwrap() {
        let name = d["domain"].as_str().unwrap();
        let row_at = dom
            .find(&format!("data-domain=\"{name}\""))
            .unwrap_or_else(|| panic!("row {name}"));
        let row = &dom[row_at..row_at + dom[row_at..].find("</tr>").unwrap()];
        let cell = |field: &str| {
            let at = row.find(&format!("data-field=\"{field}\">")).unwrap() + field.len() + 14;
            row[at..at + row[at..].find('<').unwrap()].to_owned()
        };
        assert_eq!(
            cell("sessions"),
            d["totals"]["sessions"].to_string(),
            "{name}"
        );
        assert_eq!(cell("failed"), d["totals"]["failed"].to_string(), "{name}");
        assert!(
            row.contains("<svg class=\"spark\""),
            "{name} has a sparkline"
        );
    }
    let counts = &api["status_counts"];
    for status in ["ok", "degraded", "failing", "silent"] {
        assert_eq!(
            by_id(&dom, &format!("count-{status}")),
            counts[status].to_string()
        );
    }

    // The busiest failing domain's page: totals, readiness, findings and the chart.
    let domain = api["domains"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| !d["domain"].as_str().unwrap().is_empty())
        .max_by_key(|d| d["totals"]["failed"].as_u64().unwrap())
        .unwrap()["domain"]
        .as_str()
        .unwrap()
        .to_owned();
    let summary = server
        .get(&format!("/api/v1/domains/{domain}?{w}"), &[])
        .json();
    let (dom, console) = load(&server.url(&format!("/domains/{domain}?{w}")), "domain.png");
    assert!(console.is_empty(), "console: {console:#?}");
    for field in ["sessions", "successful", "failed", "reports"] {
        assert_eq!(
            by_id(&dom, field),
            summary["totals"][field].to_string(),
            "{field}"
        );
    }
    assert!(dom.contains("<svg class=\"chart\""), "a chart is drawn");
    assert!(dom.contains("Safe to switch MTA-STS to enforce?"));
    for finding in summary["findings"].as_array().unwrap() {
        let kind = finding["result_type"].as_str().unwrap();
        assert!(
            dom.contains(&format!("data-result-type=\"{kind}\"")),
            "{kind}"
        );
    }

    // Report list and the hostile report: its script is text, never run.
    let (dom, console) = load(
        &server.url(&format!("/reports?domain={XSS_DOMAIN}")),
        "reports.png",
    );
    assert!(console.is_empty(), "console: {console:#?}");
    assert!(dom.contains("&lt;script&gt;console.error(\"xss\")&lt;/script&gt;Evil Org"));
    let id = server
        .get(&format!("/api/v1/reports?domain={XSS_DOMAIN}"), &[])
        .json()["reports"][0]["id"]
        .clone();
    let (dom, console) = load(&server.url(&format!("/reports/{id}")), "report.png");
    assert!(console.is_empty(), "the injected script ran: {console:#?}");
    assert_eq!(
        by_id(&dom, "organization"),
        "&lt;script&gt;console.error(\"xss\")&lt;/script&gt;Evil Org"
    );
    assert!(!dom.contains("<img src=\"x\""), "no injected element");
    let detail = server.get(&format!("/api/v1/reports/{id}"), &[]).json();
    assert_eq!(
        by_id(&dom, "dkim"),
        detail["authentication"]["result"].as_str().unwrap(),
        "the DKIM verdict the API gives"
    );
    let (dom, console) = load(
        &server.url(&format!("/domains/{XSS_DOMAIN}?{w}")),
        "xss-domain.png",
    );
    assert!(console.is_empty(), "console: {console:#?}");
    assert!(dom.contains("&lt;img src=x onerror=console.error(1)&gt;"));
}
