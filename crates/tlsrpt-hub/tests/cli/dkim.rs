//! DKIM on mailed reports (RFC 8460 §3): messages signed in the test with freshly generated
//! keys, the keys published by a real DNS server (dnsmasq, Debian `dnsmasq-base`, started
//! here on a loopback port) that `tlsrpt-hub` is pointed at with `dkim_nameservers`.

use std::io::Write;
use std::net::{Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::DkimSigner;
use tlsrpt_core::extract::Limits;
use tlsrpt_core::read::read_reports;
use tlsrpt_core::report::dedup_key;
use tlsrpt_store::{AuthResult, Authentication};

use crate::api::assert_shape;
use crate::serve_http::{Server, curl, free_port};
use crate::{corpus, hub, with_store};

const EX_DATAERR: i32 = 65;
const EX_TEMPFAIL: i32 = 75;

/// The synthetic report's submitter is mail.sender.example.com; its organisation signs.
const SIGNER: &str = "sender.example.com";

/// dnsmasq serving the given TXT records, killed on drop.
struct Dns {
    child: Child,
    port: u16,
}

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Dns {
    fn start(records: &[(String, String)]) -> Dns {
        let port = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new("dnsmasq");
        command
            .args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
            ])
            .args([
                "--no-hosts",
                "--bind-interfaces",
                "--listen-address=127.0.0.1",
            ])
            .args(["--user=root", "--pid-file=", "--log-facility=-"])
            .arg(format!("--port={port}"));
        for (name, text) in records {
            command.arg(format!("--txt-record={name},{text}"));
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dnsmasq (Debian package dnsmasq-base)");
        let dns = Dns { child, port };
        dns.wait_until_answering();
        dns
    }

    /// Waits until dnsmasq answers a query (any answer).
    fn wait_until_answering(&self) {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04test\x00\x00\x10\x00\x01";
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut answer = [0u8; 512];
        loop {
            socket
                .send_to(query, (Ipv4Addr::LOCALHOST, self.port))
                .unwrap();
            if socket.recv(&mut answer).is_ok() {
                return;
            }
            assert!(Instant::now() < deadline, "dnsmasq does not answer");
        }
    }
}

/// A generated Ed25519 signing key and its DNS key record.
struct Key {
    pkcs8: Vec<u8>,
    selector: &'static str,
}

impl Key {
    fn new(selector: &'static str) -> Key {
        Key {
            pkcs8: Ed25519Key::generate_pkcs8().unwrap(),
            selector,
        }
    }

    fn signing_key(&self) -> Ed25519Key {
        Ed25519Key::from_pkcs8_der(&self.pkcs8).unwrap()
    }

    /// The `selector._domainkey.SIGNER` TXT record, with `extra` tags (e.g. `s=email`).
    fn record(&self, extra: &str) -> (String, String) {
        let public =
            base64::engine::general_purpose::STANDARD.encode(self.signing_key().public_key());
        (
            format!("{}._domainkey.{SIGNER}", self.selector),
            format!("v=DKIM1; k=ed25519; {extra}p={public}"),
        )
    }

    /// `message` with a DKIM-Signature by SIGNER prepended.
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature = DkimSigner::from_key(self.signing_key())
            .domain(SIGNER)
            .selector(self.selector)
            .headers([
                "From",
                "To",
                "Subject",
                "Date",
                "TLS-Report-Domain",
                "TLS-Report-Submitter",
                "Content-Type",
            ])
            .sign(message)
            .unwrap();
        let mut signed = signature.to_header().into_bytes();
        signed.extend_from_slice(message);
        signed
    }
}

fn synthetic() -> Vec<u8> {
    // CRLF line ends, as a message on the wire has them.
    std::fs::read_to_string(corpus("synthetic-rpt01.eml"))
        .unwrap()
        .replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}

/// The stored verdict of the report in `message`.
fn verdict(db: &Path, message: &[u8]) -> Option<(Authentication, bool)> {
    let read = read_reports(message, &Limits::default())
        .unwrap()
        .into_iter()
        .next()
        .unwrap()
        .unwrap();
    let key = dedup_key(&read.parsed.report);
    with_store(db, async |store| {
        store
            .report_by_dedup_key(&key)
            .await
            .unwrap()
            .map(|r| (r.authentication, r.quarantined))
    })
}

struct Hub {
    dir: tempfile::TempDir,
}

impl Hub {
    fn new(config: &str) -> Hub {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("hub.db");
        std::fs::write(
            dir.path().join("hub.toml"),
            format!("database = {:?}\n{config}\n", db.to_str().unwrap()),
        )
        .unwrap();
        Hub { dir }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("hub.db")
    }

    fn ingest_mail(&self, message: &[u8]) -> Output {
        let mut child = hub()
            .args(["-v", "ingest-mail", "--config"])
            .arg(self.dir.path().join("hub.toml"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(message).unwrap();
        child.wait_with_output().unwrap()
    }
}

fn config(policy: &str, dns: &Dns) -> String {
    format!(
        "unknown_domains = \"accept\"\ndkim = \"{policy}\"\n\
         dkim_nameservers = [\"127.0.0.1:{}\"]\n",
        dns.port
    )
}

#[test]
fn require_stores_a_signed_report_and_refuses_a_modified_one() {
    let key = Key::new("tlsrpt2026");
    let dns = Dns::start(&[key.record("s=email:tlsrpt; ")]);
    let hub = Hub::new(&config("require", &dns));
    let signed = key.sign(&synthetic());

    // The same signed message with one word of the body changed (the report itself still
    // reads fine, so only DKIM can refuse it).
    let modified = String::from_utf8(signed.clone())
        .unwrap()
        .replace("an aggregate TLS report", "an altered TLS report")
        .into_bytes();
    assert_ne!(modified, signed);
    let output = hub.ingest_mail(&modified);
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(EX_DATAERR), "{log}");
    assert!(
        log.contains("DKIM: Calculated body hash does not match"),
        "{log}"
    );
    assert_eq!(verdict(&hub.db(), &signed), None);

    let output = hub.ingest_mail(&signed);
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{log}");
    let (authentication, quarantined) = verdict(&hub.db(), &signed).expect("stored");
    assert_eq!(
        authentication,
        Authentication {
            result: AuthResult::Pass,
            domain: Some(SIGNER.to_owned()),
            reason: None,
        }
    );
    assert!(!quarantined);

    // Unsigned mail is refused too.
    let output = hub.ingest_mail(&synthetic());
    assert_eq!(output.status.code(), Some(EX_DATAERR));
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("DKIM: no DKIM signature"), "{log}");

    // Google's key cannot be fetched (this DNS server knows no google.com and refuses):
    // the MTA keeps the message and retries, rather than bouncing a report that may verify.
    let output = hub.ingest_mail(&std::fs::read(corpus("google-2022.eml")).unwrap());
    assert_eq!(output.status.code(), Some(EX_TEMPFAIL));
}

#[test]
fn require_refuses_keys_not_for_tlsrpt_and_foreign_signers_over_smtp() {
    let email_only = Key::new("mail");
    let tlsrpt = Key::new("reports");
    let dns = Dns::start(&[email_only.record("s=email; "), tlsrpt.record("")]);
    let port = free_port();
    let server = Server::start(
        &format!("[smtp]\nlisten = \"127.0.0.1:{port}\"\naddresses = [\"tlsrpt@example.net\"]\n"),
        &config("require", &dns),
    );
    let dir = tempfile::tempdir().unwrap();
    let send = |name: &str, message: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, message).unwrap();
        let output = Command::new("swaks")
            .args(["--server", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--to",
                "tlsrpt@example.net",
                "--from",
                "tlsrpt@mail.sender.example.com",
            ])
            .arg("--data")
            .arg(&path)
            .output()
            .expect("swaks");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let transcript = send("email-only.eml", &email_only.sign(&synthetic()));
    assert!(
        transcript.contains(
            "550 5.7.20 DKIM: key mail._domainkey.sender.example.com is for services email only"
        ),
        "{transcript}"
    );
    // A key record without s= serves every service (RFC 6376 §3.6.1).
    let transcript = send("signed.eml", &tlsrpt.sign(&synthetic()));
    assert!(
        transcript.contains("250 2.0.0 report stored"),
        "{transcript}"
    );
    let db = server.db();
    let _stopped = server.stop();
    let (authentication, _) = verdict(&db, &synthetic()).expect("stored");
    assert_eq!(authentication.result, AuthResult::Pass);
}

#[test]
fn flag_stores_the_google_report_whose_signature_the_gateway_banner_broke() {
    let dns = Dns::start(&[]);
    let hub = Hub::new(&config("flag", &dns));
    let message = std::fs::read(corpus("google-2024-gateway-banner.eml")).unwrap();
    let output = hub.ingest_mail(&message);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (authentication, _) = verdict(&hub.db(), &message).expect("stored");
    assert_eq!(
        authentication.result,
        AuthResult::Fail,
        "{authentication:?}"
    );
    assert_eq!(authentication.domain.as_deref(), Some("google.com"));
    assert!(authentication.reason.is_some());
}

#[test]
fn off_does_not_check_and_https_is_unauthenticated_and_quarantine_stores_aside() {
    let hub = Hub::new("unknown_domains = \"accept\"\ndkim = \"off\"\n");
    let message = synthetic();
    assert!(hub.ingest_mail(&message).status.success());
    let (authentication, _) = verdict(&hub.db(), &message).unwrap();
    assert_eq!(authentication.result, AuthResult::NotChecked);

    let server = Server::start(
        "rate_limit = { per_minute = 6000, burst = 1000 }",
        "unknown_domains = \"quarantine\"\n[[domains]]\nname = \"example.com\"\n",
    );
    let report = corpus("rfc8460-appendix-b.json");
    let status = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--data-binary",
        ])
        .arg(format!("@{}", report.display()))
        .args(["-H", "Content-Type: application/tlsrpt+json"])
        .arg(format!("http://127.0.0.1:{}/v1/tlsrpt", server.port))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&status.stdout), "201");
    let db = server.db();
    let _stopped = server.stop();
    // Stored, but quarantined: its policy domain is company-y.example, not served here.
    let json = std::fs::read(&report).unwrap();
    let (authentication, quarantined) = verdict(&db, &json).unwrap();
    assert_eq!(authentication.result, AuthResult::UnauthenticatedHttps);
    assert!(quarantined);
}

/// A report that follows RFC 8460 to the letter: stored without diagnostics.
const CLEAN_REPORT: &str = r#"{"organization-name":"Clean Org",
"date-range":{"start-datetime":"2026-01-01T00:00:00Z","end-datetime":"2026-01-02T00:00:00Z"},
"contact-info":"tlsrpt@clean.example","report-id":"clean-1",
"policies":[{"policy":{"policy-type":"no-policy-found","policy-domain":"company-y.example",
"mx-host":["mx.company-y.example"]},
"summary":{"total-successful-session-count":5,"total-failure-session-count":0},
"failure-details":[]}]}"#;

/// GET `path` from `server` with curl: status and body.
fn get(server: &Server, path: &str) -> (u16, String) {
    let output = Command::new("curl")
        .args(["-sS", "-o", "-", "-w", "\n%{http_code}"])
        .arg(server.url(path))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap();
    (status.parse().unwrap(), body.to_owned())
}

fn get_json(server: &Server, path: &str) -> serde_json::Value {
    let (status, body) = get(server, path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The organizations of the reports an API list query answers, newest first.
fn listed(server: &Server, openapi: &serde_json::Value, query: &str) -> Vec<serde_json::Value> {
    let list = get_json(server, &format!("/api/v1/reports?{query}"));
    assert_shape(openapi, "ReportList", &list);
    list["reports"].as_array().unwrap().clone()
}

#[test]
fn report_views_show_and_filter_the_dkim_verdict_quarantine_and_diagnostics() {
    let key = Key::new("views");
    let dns = Dns::start(&[key.record("")]);
    let smtp_port = free_port();
    let server = Server::start(
        &format!(
            "rate_limit = {{ per_minute = 6000, burst = 1000 }}\n\
             [smtp]\nlisten = \"127.0.0.1:{smtp_port}\"\naddresses = [\"tlsrpt@example.net\"]\n"
        ),
        &format!(
            "unknown_domains = \"quarantine\"\ndkim = \"flag\"\n\
             dkim_nameservers = [\"127.0.0.1:{}\"]\n\
             [[domains]]\nname = \"company-y.example\"\n\
             [[domains]]\nname = \"random.net\"\n",
            dns.port
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let signed = dir.path().join("signed.eml");
    std::fs::write(&signed, key.sign(&synthetic())).unwrap();
    let swaks = |extra: &[&std::ffi::OsStr]| {
        let output = Command::new("swaks")
            .args(["--server", "127.0.0.1", "--port", &smtp_port.to_string()])
            .args(["--to", "tlsrpt@example.net", "--from", "tlsrpt@example.org"])
            .args(extra)
            .output()
            .expect("swaks");
        let transcript = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            transcript.contains("250 2.0.0 report stored"),
            "{transcript}"
        );
    };
    // Signed by the submitter's organization: pass.
    swaks(&["--data".as_ref(), signed.as_os_str()]);
    // A report attached to an unsigned message: none.
    swaks(&[
        "--attach-type".as_ref(),
        "application/tlsrpt+json".as_ref(),
        "--attach".as_ref(),
        corpus("microsoft-2025-sts-and-tlsa.json").as_os_str(),
    ]);
    // Over HTTPS: unauthenticated. The first two are about domains not served here (the
    // second names none at all) and are quarantined; the third is served and the only
    // report without diagnostics.
    let clean = dir.path().join("clean.json");
    std::fs::write(&clean, CLEAN_REPORT).unwrap();
    for path in [
        corpus("google-2024-validation-failure.json"),
        corpus("invalid-policy-type-missing-counts.json"),
        clean,
    ] {
        let answer = curl(
            &server.url("/v1/tlsrpt"),
            &["-H", "Content-Type: application/tlsrpt+json"],
            &path,
        );
        assert_eq!(answer.status, 201, "{path:?}: {answer:?}");
    }

    let openapi = get_json(&server, "/api/v1/openapi.json");
    let all = listed(&server, &openapi, "");
    let verdicts: Vec<(&str, Option<&str>, bool)> = all
        .iter()
        .map(|r| {
            (
                r["authentication"]["result"].as_str().unwrap(),
                r["authentication"]["domain"].as_str(),
                r["quarantined"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("unauthenticated-https", None, false),
            ("unauthenticated-https", None, true),
            ("unauthenticated-https", None, true),
            ("none", None, false),
            ("pass", Some(SIGNER), false),
        ]
    );
    let ids = |query: &str| -> Vec<i64> {
        listed(&server, &openapi, query)
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect()
    };
    let id = |i: usize| all[i]["id"].as_i64().unwrap();
    assert_eq!(ids("dkim=pass"), [id(4)]);
    assert_eq!(ids("dkim=none"), [id(3)]);
    assert_eq!(ids("dkim=unauthenticated-https"), [id(0), id(1), id(2)]);
    assert!(ids("dkim=fail").is_empty());
    assert_eq!(ids("quarantined=true"), [id(1), id(2)]);
    assert_eq!(ids("quarantined=false"), [id(0), id(3), id(4)]);
    assert_eq!(ids("dkim=unauthenticated-https&quarantined=false"), [id(0)]);
    // Diagnostics: every corpus report has some; the clean one none.
    assert_eq!(all[0]["diagnostics"], 0);
    assert!(
        all[1..]
            .iter()
            .all(|r| r["diagnostics"].as_u64().unwrap() > 0)
    );
    assert_eq!(ids("has_diagnostics=false"), [id(0)]);
    assert_eq!(ids("has_diagnostics=true"), [id(1), id(2), id(3), id(4)]);
    let (status, body) = get(&server, "/api/v1/reports?dkim=maybe");
    assert_eq!(status, 400);
    assert!(
        body.contains("dkim: \\\"maybe\\\" is not a verdict"),
        "{body}"
    );

    // Detail: API and page.
    let pass_id = all[4]["id"].as_i64().unwrap();
    let detail = get_json(&server, &format!("/api/v1/reports/{pass_id}"));
    assert_shape(&openapi, "ReportDetail", &detail);
    assert_eq!(detail["authentication"]["result"], "pass");
    assert_eq!(detail["authentication"]["domain"], SIGNER);
    assert_eq!(detail["quarantined"], false);
    let (status, page) = get(&server, &format!("/reports/{pass_id}"));
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("<dd id=\"dkim\">pass, signed by {SIGNER}</dd>")),
        "{page}"
    );
    assert!(!page.contains("id=\"quarantined\""));
    let quarantined_id = all[2]["id"].as_i64().unwrap();
    let (_, page) = get(&server, &format!("/reports/{quarantined_id}"));
    assert!(page.contains("<dd id=\"dkim\">unauthenticated-https</dd>"));
    assert!(page.contains("<dd id=\"quarantined\">yes"), "{page}");

    // List page: the filter form keeps its choice, rows show the verdict.
    let (status, page) = get(&server, "/reports?dkim=pass&quarantined=false");
    assert_eq!(status, 200);
    assert!(
        page.contains("<option value=\"pass\" selected>pass</option>"),
        "{page}"
    );
    assert!(page.contains("<option value=\"false\" selected>not quarantined</option>"));
    assert_eq!(page.matches("<tr data-id=").count(), 1, "{page}");
    assert!(page.contains(&format!("<td data-field=\"dkim\">pass ({SIGNER})</td>")));
    let (_, page) = get(&server, "/reports?quarantined=true");
    assert_eq!(page.matches("<tr data-id=").count(), 2, "{page}");
    assert!(page.contains("<strong data-field=\"quarantined\">quarantined</strong>"));
    let _stopped = server.stop();
}
