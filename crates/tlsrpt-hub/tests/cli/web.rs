//! The dashboard and API served by `tlsrpt-hub serve`: a seeded store, the real binary on a
//! loopback port, real HTTP (curl). Shared by the `api`, `browser` and `export` modules;
//! the access-control tests live here.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use tlsrpt_core::Report;

use crate::hub;

/// The organization-name of the injected report: executed, it would log to the console.
pub const XSS_ORG: &str = "<script>console.error(\"xss\")</script>Evil Org";
pub const XSS_DOMAIN: &str = "xss.example";
pub const API_TOKEN: &str = "test-token-0123456789abcdef";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// A generated corpus plus one hostile report, imported into a fresh database.
pub struct Seeded {
    pub dir: tempfile::TempDir,
    pub reports: Vec<Report>,
    /// The bytes of each corpus file, by file name.
    pub files: BTreeMap<String, Vec<u8>>,
    pub last_day: NaiveDate,
}

impl Seeded {
    pub fn new() -> Seeded {
        let dir = tempfile::tempdir().expect("temp dir");
        let corpus_dir = dir.path().join("corpus");
        std::fs::create_dir(&corpus_dir).unwrap();
        let mut reports = Vec::new();
        let mut files = BTreeMap::new();
        let corpus = tlsrpt_synth::Options {
            seed: 5_460,
            count: 360,
            start: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
            days: 40,
            domains: Some(12),
            gzip_ratio: 0.5,
        }
        .corpus()
        .expect("valid options");
        for file in corpus {
            std::fs::write(corpus_dir.join(&file.file_name), &file.bytes).unwrap();
            files.insert(file.file_name.clone(), file.bytes);
            reports.push(file.report);
        }
        let last_day = reports
            .iter()
            .map(|r| r.date_range.start.date_naive())
            .max()
            .unwrap();
        let hostile = format!(
            r#"{{"organization-name": {org:?}, "date-range": {{"start-datetime": "{d}T00:00:00Z",
            "end-datetime": "{d}T23:59:59Z"}}, "contact-info": "x@evil.example",
            "report-id": "evil-1", "policies": [{{"policy": {{"policy-type": "no-policy-found",
            "policy-domain": "{XSS_DOMAIN}"}}, "summary": {{"total-successful-session-count": 7,
            "total-failure-session-count": 1}}, "failure-details": [{{"result-type":
            "<img src=x onerror=console.error(1)>", "failed-session-count": 1}}]}}]}}"#,
            org = XSS_ORG,
            d = last_day
        );
        let hostile_name = "evil.example!xss.example!1!2!evil-1.json";
        std::fs::write(corpus_dir.join(hostile_name), &hostile).unwrap();
        files.insert(hostile_name.to_owned(), hostile.clone().into_bytes());
        reports.push(
            tlsrpt_core::report::parse_report(hostile.as_bytes())
                .expect("the hostile report is valid JSON")
                .report,
        );
        let db = dir.path().join("hub.db");
        let output = hub()
            .arg("--db")
            .arg(&db)
            .arg("import")
            .arg(&corpus_dir)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        Seeded {
            dir,
            reports,
            files,
            last_day,
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("hub.db")
    }

    /// The query fixing the window to the corpus' last 30 days.
    pub fn window(&self) -> String {
        format!("days=30&to={}", self.last_day)
    }

    pub fn window_from(&self) -> NaiveDate {
        self.last_day - chrono::Days::new(29)
    }
}

/// A running `serve` on the seeded database.
pub struct WebServer {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl WebServer {
    /// Listens on 127.0.0.1 (open) or, with `config`, on 0.0.0.0 (login required).
    pub fn start(seeded: &Seeded, web_config: Option<&str>) -> WebServer {
        WebServer::start_on(seeded, seeded.db().to_str().unwrap(), web_config)
    }

    /// [`WebServer::start`] on another database (a PostgreSQL URL) with the seeded files.
    pub fn start_on(seeded: &Seeded, database: &str, web_config: Option<&str>) -> WebServer {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host = if web_config.is_some() {
            "0.0.0.0"
        } else {
            "127.0.0.1"
        };
        let config = seeded.dir.path().join(format!("hub-{port}.toml"));
        std::fs::write(
            &config,
            format!(
                "database = {database:?}\nunknown_domains = \"accept\"\n[http]\nlisten = \"{host}:{port}\"\n{web}\n",
                web = web_config.unwrap_or("")
            ),
        )
        .unwrap();
        let log = seeded.dir.path().join(format!("serve-{port}.log"));
        let child = hub()
            .args(["-v", "serve", "--config"])
            .arg(&config)
            .env("NO_COLOR", "1")
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut server = WebServer { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !server.log_text().contains("serving;") {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("serve exited {status}: {}", server.log_text());
            }
            assert!(Instant::now() < deadline, "{}", server.log_text());
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// GET with curl: (status, headers, body).
    pub fn get(&self, path: &str, headers: &[&str]) -> Response {
        self.curl(path, headers, &[])
    }

    pub fn curl(&self, path: &str, headers: &[&str], extra: &[&str]) -> Response {
        let dir = tempfile::tempdir().unwrap();
        let head = dir.path().join("head");
        let mut command = Command::new("curl");
        command
            .args(["-s", "-o", "-", "-D"])
            .arg(&head)
            .args(["-w", "", "--max-time", "60"]);
        for h in headers {
            command.args(["-H", h]);
        }
        command.args(extra).arg(self.url(path));
        let output: Output = command.output().expect("curl runs");
        assert!(output.status.success(), "curl {path}: {output:?}");
        let head = std::fs::read_to_string(head).unwrap();
        let status = head
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        Response {
            status,
            head,
            body: output.stdout,
        }
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// A response header's value (first occurrence, case-insensitive name).
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    /// `name=value` of a Set-Cookie header naming `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            if !k.eq_ignore_ascii_case("set-cookie") {
                return None;
            }
            let pair = v.trim().split(';').next()?;
            pair.starts_with(&format!("{name}="))
                .then(|| pair.to_owned())
        })
    }
}

/// The value of `<input ... name="{name}" value="...">` in a form.
fn hidden_field(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no field {name} in {html}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}

fn admin_config() -> String {
    use argon2::password_hash::PasswordHasher;
    let hash = argon2::Argon2::default()
        .hash_password_with_salt(ADMIN_PASSWORD.as_bytes(), b"a-test-salt-1234")
        .expect("hashing works")
        .to_string();
    format!(
        "[web]\nadmin_user = \"admin\"\nadmin_password_hash = \"{hash}\"\napi_tokens = [\"{API_TOKEN}\"]\n"
    )
}

#[test]
fn beyond_loopback_everything_needs_a_login_or_a_token() {
    let seeded = Seeded::new();
    let server = WebServer::start(&seeded, Some(&admin_config()));

    // Nothing without credentials: the API says 401, pages send to the login form.
    let api = server.get("/api/v1/domains", &[]);
    assert_eq!(api.status, 401);
    assert!(
        api.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    let page = server.get("/reports?domain=a.example", &[]);
    assert_eq!(page.status, 303);
    assert_eq!(
        page.header("location").as_deref(),
        Some("/login?next=%2Freports%3Fdomain%3Da.example")
    );
    assert_eq!(
        server
            .get(
                "/api/v1/domains",
                &["Authorization: Bearer wrong-token-xxxxxxxx"]
            )
            .status,
        401
    );

    // A configured bearer token opens the API.
    let bearer = format!("Authorization: Bearer {API_TOKEN}");
    assert_eq!(server.get("/api/v1/domains", &[&bearer]).status, 200);

    // Login: the form's CSRF token must match its cookie.
    let form = server.get("/login?next=/reports", &[]);
    assert_eq!(form.status, 200);
    let csrf_cookie = form.cookie("tlsrpt_login_csrf").expect("login CSRF cookie");
    let set_cookie = form.header("set-cookie").unwrap();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let csrf = hidden_field(&form.text(), "csrf");
    let post = |cookie: &str, fields: &str| {
        server.curl(
            "/login",
            &[&format!("Cookie: {cookie}")],
            &["--data", fields],
        )
    };
    let forged = post(
        &csrf_cookie,
        "user=admin&password=x&csrf=forged&next=/reports",
    );
    assert_eq!(forged.status, 403);
    let wrong = post(
        &csrf_cookie,
        &format!("user=admin&password=wrong&csrf={csrf}&next=/reports"),
    );
    assert_eq!(wrong.status, 401);
    assert!(wrong.cookie("tlsrpt_session").is_none());
    let ok = post(
        &csrf_cookie,
        &format!(
            "user=admin&password={}&csrf={csrf}&next=//evil.example/",
            ADMIN_PASSWORD.replace(' ', "+")
        ),
    );
    assert_eq!(ok.status, 303, "{}", ok.text());
    assert_eq!(
        ok.header("location").as_deref(),
        Some("/"),
        "no open redirect"
    );
    let session = ok.cookie("tlsrpt_session").expect("session cookie");
    let with_session = format!("Cookie: {session}");
    let overview = server.get("/", &[&with_session]);
    assert_eq!(overview.status, 200);
    assert_eq!(server.get("/api/v1/domains", &[&with_session]).status, 200);

    // Logout is a state-changing form: it needs the session's CSRF token.
    let logout_csrf = hidden_field(&overview.text(), "csrf");
    let forged_logout = server.curl("/logout", &[&with_session], &["--data", "csrf=nope"]);
    assert_eq!(forged_logout.status, 403);
    assert_eq!(server.get("/", &[&with_session]).status, 200);
    let logout = server.curl(
        "/logout",
        &[&with_session],
        &["--data", &format!("csrf={logout_csrf}")],
    );
    assert_eq!(logout.status, 303);
    assert_eq!(
        server.get("/", &[&with_session]).status,
        303,
        "the session ended"
    );
}

#[test]
fn on_loopback_the_dashboard_is_open_and_assets_are_embedded() {
    let seeded = Seeded::new();
    let server = WebServer::start(&seeded, None);
    let page = server.get(&format!("/?{}", seeded.window()), &[]);
    assert_eq!(page.status, 200);
    let html = page.text();
    for external in ["src=\"http", "href=\"http", "src=\"//", "href=\"//", "url("] {
        assert!(
            !html.contains(external),
            "no external resource ({external})"
        );
    }
    for asset in ["/assets/style.css", "/assets/app.js"] {
        assert!(html.contains(asset));
        let r = server.get(asset, &[]);
        assert_eq!(r.status, 200);
        assert!(!r.body.is_empty());
    }
}

/// Path of a file inside the workspace's target directory, for test artifacts.
pub fn artifact(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artifacts/dashboard");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A hostile TXT record's text, as a stored check's finding would quote it.
const XSS_CHECK: &str = "<script>console.error(\"check\")</script>v=TLSRPTv1;rua=http:";

#[test]
fn the_domain_page_and_api_show_the_latest_daily_check() {
    use chrono::SubsecRound;
    use tlsrpt_store::{CheckChange, NewDomainCheck};
    let seeded = Seeded::new();
    // Whole seconds: the store keeps microseconds.
    let now = chrono::Utc::now().trunc_subsecs(0);
    let run = |at, status: &str, findings: serde_json::Value, changes| NewDomainCheck {
        domain: XSS_DOMAIN.to_owned(),
        checked_at: at,
        status: status.to_owned(),
        snapshot: "{}".to_owned(),
        findings: findings.to_string(),
        changes,
    };
    crate::with_store(&seeded.db(), async |store| {
        let earlier = run(
            now - chrono::Duration::days(1),
            "pass",
            serde_json::json!([{"check": "tlsrpt-record", "status": "pass",
                "subject": "_smtp._tls.xss.example", "message": "an earlier run"}]),
            vec![],
        );
        let latest = run(
            now,
            "fail",
            serde_json::json!([
                {"check": "tlsrpt-record", "status": "fail", "subject": "_smtp._tls.xss.example",
                 "message": format!("unusable record {XSS_CHECK}"),
                 "fix": "publish \"v=TLSRPTv1; rua=mailto:tlsrpt@xss.example\""},
                {"check": "mx", "status": "pass", "subject": "xss.example",
                 "message": "2 MX hosts resolve"}
            ]),
            vec![CheckChange {
                kind: "sts-policy-id-changed".to_owned(),
                detail: "id 20260101T000000 -> <b>20260202T000000</b>".to_owned(),
            }],
        );
        store.insert_domain_check(&earlier).await.unwrap();
        store.insert_domain_check(&latest).await.unwrap();
        let unreported = NewDomainCheck {
            domain: "new.example".to_owned(),
            ..run(now, "warn", serde_json::json!([]), vec![])
        };
        store.insert_domain_check(&unreported).await.unwrap();
    });
    let server = WebServer::start(&seeded, None);
    let when = tlsrpt_core::report::format_utc(&now);

    // The page: the latest run only, its verdicts, fixes, time and changes, all escaped.
    let page = server.get(&format!("/domains/{XSS_DOMAIN}?{}", seeded.window()), &[]);
    assert_eq!(page.status, 200);
    let html = page.text();
    let section = &html[html.find("id=\"dns-check\"").expect("the check section")..];
    let section = &section[..section.find("</section>").unwrap()];
    assert!(section.contains(&format!(">{when}</time>")), "{section}");
    assert!(
        section.contains("id=\"check-status\" class=\"badge check-fail\">fail<"),
        "{section}"
    );
    assert!(section.contains("<td>fail</td>") && section.contains("<td>pass</td>"));
    assert!(section.contains("2 MX hosts resolve"), "{section}");
    assert!(
        section.contains("publish &#34;v=TLSRPTv1; rua=mailto:tlsrpt@xss.example&#34;"),
        "the fix: {section}"
    );
    assert!(
        section.contains("<code>sts-policy-id-changed</code>: id 20260101T000000 -&#62; &#60;b&#62;20260202T000000&#60;/b&#62;"),
        "{section}"
    );
    assert!(
        section.contains("&#60;script&#62;console.error(&#34;check&#34;)&#60;/script&#62;"),
        "{section}"
    );
    assert!(!html.contains(XSS_CHECK) && !html.contains("<b>20260202"));
    assert!(!section.contains("an earlier run"), "only the latest run");

    // A reported domain never checked says so.
    let other = seeded
        .reports
        .iter()
        .filter(|r| r.date_range.start.date_naive() >= seeded.window_from())
        .find_map(|r| r.policies[0].policy.policy_domain.clone())
        .filter(|d| d != XSS_DOMAIN)
        .expect("a corpus domain");
    let page = server.get(&format!("/domains/{other}?{}", seeded.window()), &[]);
    assert_eq!(page.status, 200, "{other}");
    assert!(page.text().contains("id=\"check-none\""));

    // A domain checked before its first report has a page showing the check; one neither
    // reported nor checked has none.
    let page = server.get(&format!("/domains/new.example?{}", seeded.window()), &[]);
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(
        page.text()
            .contains("id=\"check-status\" class=\"badge check-warn\">warn<"),
        "{}",
        page.text()
    );
    let summary = server.get("/api/v1/domains/new.example", &[]);
    assert_eq!(summary.status, 200);
    let summary = summary.json();
    crate::api::assert_shape(
        &server.get("/api/v1/openapi.json", &[]).json(),
        "DomainAnalysis",
        &summary,
    );
    assert_eq!(summary["totals"]["sessions"], 0);
    assert_eq!(
        server
            .get(
                &format!("/domains/unchecked.example?{}", seeded.window()),
                &[]
            )
            .status,
        404
    );

    // The API: the same run, in the documented shape.
    let openapi = server.get("/api/v1/openapi.json", &[]).json();
    let api = server.get(&format!("/api/v1/domains/{XSS_DOMAIN}/checks"), &[]);
    assert_eq!(api.status, 200);
    let api = api.json();
    crate::api::assert_shape(&openapi, "DomainChecks", &api);
    let latest = &api["latest"];
    assert_eq!(api["domain"], XSS_DOMAIN);
    assert_eq!(latest["checked_at"], when.as_str());
    assert_eq!(latest["status"], "fail");
    assert_eq!(latest["findings"].as_array().unwrap().len(), 2);
    assert_eq!(
        latest["findings"][0]["message"],
        format!("unusable record {XSS_CHECK}")
    );
    assert_eq!(
        latest["findings"][0]["fix"],
        "publish \"v=TLSRPTv1; rua=mailto:tlsrpt@xss.example\""
    );
    assert_eq!(latest["findings"][1].get("fix"), None);
    assert_eq!(latest["changes"][0]["kind"], "sts-policy-id-changed");
    // Any spelling of the domain; an unchecked one has `latest: null`.
    let upper = server
        .get("/api/v1/domains/XSS.Example./checks", &[])
        .json();
    assert_eq!(upper, api);
    let none = server.get("/api/v1/domains/unchecked.example/checks", &[]);
    assert_eq!(none.status, 200);
    let none = none.json();
    crate::api::assert_shape(&openapi, "DomainChecks", &none);
    assert_eq!(none["latest"], serde_json::Value::Null);
}

/// Logs in as the admin through the login form; returns the `tlsrpt_session=…` cookie.
fn log_in(server: &WebServer) -> String {
    let form = server.get("/login", &[]);
    let csrf_cookie = form.cookie("tlsrpt_login_csrf").expect("login CSRF cookie");
    let csrf = hidden_field(&form.text(), "csrf");
    let ok = server.curl(
        "/login",
        &[&format!("Cookie: {csrf_cookie}")],
        &[
            "--data",
            &format!(
                "user=admin&password={}&csrf={csrf}",
                ADMIN_PASSWORD.replace(' ', "+")
            ),
        ],
    );
    assert_eq!(ok.status, 303, "{}", ok.text());
    ok.cookie("tlsrpt_session").expect("session cookie")
}

/// Runs SQL on a SQLite database with python3's sqlite3, behind the server's back.
fn sqlite_execute(db: &Path, sql: &str) {
    let status = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); \
             c.commit()",
        ])
        .arg(db)
        .arg(sql)
        .status()
        .expect("python3");
    assert!(status.success());
}

#[test]
fn sessions_survive_a_restart_are_shared_by_instances_and_end_at_logout_or_expiry() {
    let seeded = Seeded {
        dir: tempfile::tempdir().unwrap(),
        reports: Vec::new(),
        files: BTreeMap::new(),
        last_day: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
    };
    let config = admin_config();
    let a = WebServer::start(&seeded, Some(&config));
    let b = WebServer::start(&seeded, Some(&config));
    let session = log_in(&a);
    let token = session.strip_prefix("tlsrpt_session=").unwrap().to_owned();
    let cookie = format!("Cookie: {session}");

    // Instance B, on the same database, honours A's login (a load balancer may send the
    // next request anywhere).
    assert_eq!(b.get("/api/v1/domains", &[&cookie]).status, 200);
    let page = b.get("/", &[&cookie]);
    assert_eq!(page.status, 200);
    let logout_csrf = hidden_field(&page.text(), "csrf");

    // A restart keeps the login.
    drop(a);
    let a = WebServer::start(&seeded, Some(&config));
    assert_eq!(a.get("/", &[&cookie]).status, 200);

    // The database holds the cookie's hash, never the cookie.
    for file in ["hub.db", "hub.db-wal"] {
        let bytes = std::fs::read(seeded.dir.path().join(file)).unwrap_or_default();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "{file} holds the session token"
        );
    }

    // CSRF is still enforced; logging out on B ends the session on A too.
    let forged = b.curl("/logout", &[&cookie], &["--data", "csrf=forged"]);
    assert_eq!(forged.status, 403);
    assert_eq!(a.get("/", &[&cookie]).status, 200);
    let logout = b.curl(
        "/logout",
        &[&cookie],
        &["--data", &format!("csrf={logout_csrf}")],
    );
    assert_eq!(logout.status, 303);
    assert_eq!(a.get("/", &[&cookie]).status, 303, "logged out everywhere");
    assert_eq!(a.get("/api/v1/domains", &[&cookie]).status, 401);

    // Expiry ends a session too (here the clock is moved by editing the expiry).
    let cookie = format!("Cookie: {}", log_in(&b));
    assert_eq!(a.get("/", &[&cookie]).status, 200);
    sqlite_execute(&seeded.db(), "UPDATE web_sessions SET expires_at_us = 1");
    assert_eq!(a.get("/", &[&cookie]).status, 303, "expired");
    assert_eq!(b.get("/api/v1/domains", &[&cookie]).status, 401);
}
