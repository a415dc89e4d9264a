//! `tlsrpt-hub serve`: the real binary on a loopback port, a real SQLite file, real clients
//! (curl, and a hand-written HTTP/1.1 client over std TcpStream, with rustls for HTTPS).
//!
//! 503 is provoked by a second process (python3's sqlite3) holding SQLite's write lock: the
//! store waits its busy timeout (10 s) and then reports the database unavailable. That is
//! exactly the "locked by another process" case `StoreError::Unavailable` names, and unlike
//! file permissions it does not depend on running as non-root.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{corpus, gzip, hub, with_store};

const CURL: &str = "/usr/bin/curl";

/// A running `tlsrpt-hub serve` with its own config, database and log.
pub(crate) struct Server {
    child: Running,
    pub(crate) port: u16,
    pub(crate) dir: tempfile::TempDir,
    /// The database file in `dir`.
    db_file: &'static str,
}

impl Server {
    /// Starts the server with `config` (TOML, appended after `database` and `[http] listen`)
    /// and waits until it accepts connections.
    pub(crate) fn start(http: &str, rest: &str) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        Server::start_in(dir, http, rest)
    }

    pub(crate) fn start_in(dir: tempfile::TempDir, http: &str, rest: &str) -> Server {
        let port = free_port();
        let config = dir.path().join("hub.toml");
        let db = dir.path().join("hub.db");
        std::fs::write(
            &config,
            format!(
                "database = {db:?}\n{rest}\n[http]\nlisten = \"127.0.0.1:{port}\"\n{http}\n",
                db = db.to_str().unwrap()
            ),
        )
        .unwrap();
        Server::spawn(dir, port, "hub.db", &["--config", config.to_str().unwrap()])
    }

    /// `serve --demo` with `dir` as working directory, where it keeps `tlsrpt-hub-demo.db`.
    fn start_demo(dir: tempfile::TempDir) -> Server {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        Server::spawn(
            dir,
            port,
            "tlsrpt-hub-demo.db",
            &["--demo", "--http-listen", &listen],
        )
    }

    fn spawn(
        dir: tempfile::TempDir,
        port: u16,
        db_file: &'static str,
        serve_args: &[&str],
    ) -> Server {
        let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
        let child = hub()
            .args(["-v", "serve"])
            .args(serve_args)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .stderr(log)
            .spawn()
            .expect("starting tlsrpt-hub serve");
        let mut server = Server {
            child: Running(child),
            port,
            dir,
            db_file,
        };
        server.wait_for_log("serving;");
        server
    }

    pub(crate) fn db(&self) -> PathBuf {
        self.dir.path().join(self.db_file)
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }

    pub(crate) fn wait_for_log(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.log().contains(needle) {
            if let Some(status) = self.child.0.try_wait().unwrap() {
                panic!("serve exited ({status}) before {needle:?}:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGTERM, then asserts a clean exit and an intact database; returns the database.
    pub(crate) fn stop(mut self) -> Stopped {
        self.signal("TERM");
        let status = self.child.0.wait().unwrap();
        assert!(status.success(), "serve exited {status}:\n{}", self.log());
        assert!(self.log().contains("database closed"), "{}", self.log());
        let db = self.db();
        with_store(&db, async |store| store.check_integrity().await).expect("integrity");
        Stopped(self.dir, self.db_file)
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// Kills the server if a test fails before stopping it.
pub(crate) struct Running(pub(crate) Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A stopped server's directory, kept until the test's last assertion.
pub(crate) struct Stopped(pub(crate) tempfile::TempDir, &'static str);

impl Stopped {
    pub(crate) fn counts(&self) -> tlsrpt_store::StoreCounts {
        with_store(&self.0.path().join(self.1), async |store| {
            store.counts().await.unwrap()
        })
    }
}

/// An HTTP answer: status and body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: String,
    pub(crate) body: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {self:?}"))
    }
}

/// Writes one HTTP/1.1 request on `stream` and reads the answer (Content-Length framed).
fn exchange(stream: &mut (impl Read + Write), path: &str, headers: &[&str], body: &[u8]) -> Answer {
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n",
        body.len()
    );
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    stream.flush().unwrap();
    read_answer(stream)
}

fn read_answer(stream: &mut impl Read) -> Answer {
    let mut reader = BufReader::new(stream);
    let mut headers = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        headers.push_str(&line);
    }
    let status = headers[9..12].parse().unwrap();
    let length: usize = headers
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// One request on its own plain connection.
pub(crate) fn post(server: &Server, path: &str, headers: &[&str], body: &[u8]) -> Answer {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, server.port)).unwrap();
    exchange(&mut stream, path, headers, body)
}

/// The same with curl; `extra` are more curl arguments (headers, --cacert).
pub(crate) fn curl(url: &str, extra: &[&str], body: &Path) -> Answer {
    let output = Command::new(CURL)
        .args(["-sS", "-o", "-", "-w", "\n%{http_code}", "--data-binary"])
        .arg(format!("@{}", body.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("running curl");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap();
    Answer {
        status: status.parse().unwrap_or(0),
        headers: String::from_utf8_lossy(&output.stderr).into_owned(),
        body: body.to_owned(),
    }
}

fn corpus_json() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus(""))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "corpus missing: {files:?}");
    files
}

const GENEROUS: &str = "rate_limit = { per_minute = 6000, burst = 1000 }";

#[test]
fn every_corpus_report_is_stored_once_whatever_the_encoding_and_client() {
    let server = Server::start(GENEROUS, "unknown_domains = \"accept\"");
    let files = corpus_json();
    for file in &files {
        let json = std::fs::read(file).unwrap();
        let gz = gzip(&json);
        let gz_file = server.dir.path().join("report.json.gz");
        std::fs::write(&gz_file, &gz).unwrap();
        let url = server.url("/v1/tlsrpt");
        let answers = [
            post(
                &server,
                "/v1/tlsrpt",
                &["Content-Type: application/tlsrpt+json"],
                &json,
            ),
            post(
                &server,
                "/v1/tlsrpt",
                &["Content-Type: application/tlsrpt+gzip"],
                &gz,
            ),
            post(
                &server,
                "/v1/tlsrpt",
                &["Content-Type: application/octet-stream"],
                &gz,
            ),
            post(
                &server,
                "/v1/tlsrpt",
                &["Content-Type: application/json", "Content-Encoding: gzip"],
                &gz,
            ),
            curl(&url, &["-H", "Content-Type: application/tlsrpt+json"], file),
            curl(
                &url,
                &["-H", "Content-Type: application/tlsrpt+gzip"],
                &gz_file,
            ),
            curl(
                &url,
                &["-H", "Content-Type: application/octet-stream"],
                &gz_file,
            ),
            curl(
                &url,
                &[
                    "-H",
                    "Content-Type: application/json",
                    "-H",
                    "Content-Encoding: gzip",
                ],
                &gz_file,
            ),
        ];
        let first = &answers[0];
        assert_eq!(first.status, 201, "{}: {first:?}", file.display());
        let ids = first.json()["report_ids"].clone();
        for answer in &answers[1..] {
            assert_eq!(answer.status, 200, "{}: {answer:?}", file.display());
            assert_eq!(answer.json()["status"], "duplicate");
            assert_eq!(answer.json()["report_ids"], ids);
        }
    }
    let counts = server.stop().counts();
    assert_eq!(counts.reports, files.len() as u64);
    assert_eq!(counts.submissions, files.len() as u64);
    assert_eq!(counts.duplicates_seen, 7 * files.len() as u64);
}

fn valid_report() -> Vec<u8> {
    std::fs::read(corpus("google-2024-validation-failure.json")).unwrap()
}

#[test]
fn every_refusal_has_its_status_and_names_the_problem() {
    let server = Server::start(
        &format!("max_body_bytes = 65536\n{GENEROUS}"),
        "[limits]\nmax_decompressed_bytes = 1048576\n\n\
         [[domains]]\nname = \"example.com\"\ntoken = \"t0ken-example\"\n\n\
         [[domains]]\nname = \"company-y.example\"\ntoken = \"t0ken-y\"\n",
    );
    let report = valid_report();

    let stored = post(&server, "/v1/tlsrpt/t0ken-example", &[], &report);
    assert_eq!(stored.status, 201, "{stored:?}");
    assert_eq!(stored.json()["status"], "stored");
    let again = post(&server, "/v1/tlsrpt", &[], &report);
    assert_eq!(
        (again.status, again.json()["status"].as_str()),
        (200, Some("duplicate"))
    );

    let mut bad: serde_json::Value = serde_json::from_slice(&report).unwrap();
    bad["policies"][0]["summary"] = "x".into();
    let unreadable = post(&server, "/v1/tlsrpt", &[], bad.to_string().as_bytes());
    assert_eq!(unreadable.status, 400, "{unreadable:?}");
    let error = unreadable.json()["error"].as_str().unwrap().to_owned();
    assert!(error.starts_with("policies[0].summary: "), "{error}");
    let truncated = gzip(&report);
    let truncated = post(
        &server,
        "/v1/tlsrpt",
        &[],
        &truncated[..truncated.len() / 2],
    );
    assert_eq!(truncated.status, 400, "{truncated:?}");
    assert!(truncated.body.contains("gzip"), "{truncated:?}");

    let unknown_token = post(&server, "/v1/tlsrpt/no-such-token", &[], &report);
    assert_eq!(unknown_token.status, 404, "{unknown_token:?}");

    let wrong_domain = post(&server, "/v1/tlsrpt/t0ken-y", &[], &report);
    assert_eq!(wrong_domain.status, 403, "{wrong_domain:?}");
    assert!(
        wrong_domain.body.contains("not about company-y.example"),
        "{wrong_domain:?}"
    );
    let stranger = std::fs::read(corpus("microsoft-2025-sts-and-tlsa.json")).unwrap();
    let not_served = post(&server, "/v1/tlsrpt", &[], &stranger);
    assert_eq!(not_served.status, 403, "{not_served:?}");
    assert!(not_served.body.contains("random.net"), "{not_served:?}");

    for not_a_report in [&b""[..], b"%PDF-1.7", br#"{"hello": "world"}"#] {
        let answer = post(&server, "/v1/tlsrpt", &[], not_a_report);
        assert_eq!(answer.status, 415, "{answer:?}");
    }
    let brotli = post(&server, "/v1/tlsrpt", &["Content-Encoding: br"], &report);
    assert_eq!(brotli.status, 415, "{brotli:?}");

    // Over the body cap: refused from Content-Length before the body is read (curl waits
    // for `100 Continue` and gets the 413 instead), and while streaming without one.
    let big = server.dir.path().join("big.bin");
    std::fs::write(&big, vec![b' '; 100_000]).unwrap();
    let declared = curl(
        &server.url("/v1/tlsrpt"),
        &["-H", "Expect: 100-continue"],
        &big,
    );
    assert_eq!(declared.status, 413, "{declared:?}");
    let streamed = curl(
        &server.url("/v1/tlsrpt"),
        &["-H", "Transfer-Encoding: chunked"],
        &big,
    );
    assert_eq!(streamed.status, 413, "{streamed:?}");
    // Under the body cap, over the decompressed cap: a gzip bomb in miniature.
    let bomb = gzip(&vec![b' '; 2 * 1024 * 1024]);
    assert!(bomb.len() < 65536);
    let bomb = post(
        &server,
        "/v1/tlsrpt",
        &["Content-Type: application/tlsrpt+gzip"],
        &bomb,
    );
    assert_eq!(bomb.status, 413, "{bomb:?}");
    assert!(bomb.body.contains("1048576"), "{bomb:?}");

    let log = server.log();
    assert!(log.contains("status=201"), "{log}");
    assert!(log.contains("status=413"), "{log}");
    let counts = server.stop().counts();
    assert_eq!((counts.reports, counts.duplicates_seen), (1, 1));
}

#[test]
fn a_source_over_its_rate_gets_429_with_retry_after() {
    let server = Server::start(
        "rate_limit = { per_minute = 1, burst = 2 }",
        "unknown_domains = \"accept\"",
    );
    let report = valid_report();
    assert_eq!(post(&server, "/v1/tlsrpt", &[], &report).status, 201);
    assert_eq!(post(&server, "/v1/tlsrpt", &[], &report).status, 200);
    let limited = post(&server, "/v1/tlsrpt", &[], &report);
    assert_eq!(limited.status, 429, "{limited:?}");
    assert!(
        limited
            .headers
            .to_ascii_lowercase()
            .contains("retry-after:"),
        "{limited:?}"
    );
    server.stop();
}

/// Another process (python3's sqlite3) holding SQLite's write lock until its stdin closes:
/// the store's writes wait their busy timeout and then report the database unavailable.
pub(crate) fn lock_database(db: &Path) -> Child {
    let mut locker = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys\n\
             c = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
             c.execute('BEGIN EXCLUSIVE')\n\
             print('locked', flush=True)\n\
             sys.stdin.read()\n",
        ])
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 for the SQLite lock");
    let mut line = String::new();
    BufReader::new(locker.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    locker
}

#[test]
fn a_locked_database_gives_503_then_recovers() {
    let server = Server::start(GENEROUS, "unknown_domains = \"accept\"");
    let mut locker = lock_database(&server.db());
    let report = valid_report();
    let unavailable = post(&server, "/v1/tlsrpt", &[], &report);
    assert_eq!(unavailable.status, 503, "{unavailable:?}");
    assert_eq!(unavailable.json()["status"], "unavailable");
    assert!(
        unavailable
            .headers
            .to_ascii_lowercase()
            .contains("retry-after: 60")
    );
    drop(locker.stdin.take());
    assert!(locker.wait().unwrap().success());
    // The sender's retry succeeds: nothing half-written blocks it.
    assert_eq!(post(&server, "/v1/tlsrpt", &[], &report).status, 201);
    server.stop();
}

#[test]
fn sigterm_finishes_an_in_flight_submission_then_exits_cleanly() {
    let server = Server::start(GENEROUS, "unknown_domains = \"accept\"");
    let report = valid_report();
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, server.port)).unwrap();
    let (first, rest) = report.split_at(100);
    write!(
        stream,
        "POST /v1/tlsrpt HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
        report.len()
    )
    .unwrap();
    stream.write_all(first).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(rest).unwrap();
    let answer = read_answer(&mut stream);
    assert_eq!(answer.status, 201, "{answer:?}");
    let counts = server.stop().counts();
    assert_eq!(counts.reports, 1);
}

/// A self-signed certificate for 127.0.0.1 made with the openssl command line (no rcgen
/// dependency; openssl is on every machine that runs these tests, as curl is).
pub(crate) fn self_signed(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", &format!("/CN={name}")])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        // An end-entity certificate: rustls refuses a CA certificate as the server's own.
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("openssl");
    assert!(status.success());
    (cert, key)
}

fn tls_client(
    port: u16,
    trusted: &[&Path],
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in trusted {
        roots
            .add(rustls::pki_types::CertificateDer::from_pem_file(cert).unwrap())
            .unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
    rustls::StreamOwned::new(connection, tcp)
}

#[test]
fn https_serves_and_sighup_swaps_the_certificate_without_dropping_connections() {
    let dir = tempfile::tempdir().unwrap();
    let (old_cert, old_key) = self_signed(dir.path(), "old");
    let (new_cert, new_key) = self_signed(dir.path(), "new");
    let live_cert = dir.path().join("live.crt");
    let live_key = dir.path().join("live.key");
    std::fs::copy(&old_cert, &live_cert).unwrap();
    std::fs::copy(&old_key, &live_key).unwrap();
    let http = format!("tls_cert = {live_cert:?}\ntls_key = {live_key:?}\n{GENEROUS}");
    let mut server = Server::start_in(dir, &http, "unknown_domains = \"accept\"");
    let url = format!("https://127.0.0.1:{}/v1/tlsrpt", server.port);
    let report_file = corpus("google-2024-validation-failure.json");
    let old_ca = ["--cacert", old_cert.to_str().unwrap()];
    let new_ca = ["--cacert", new_cert.to_str().unwrap()];

    assert_eq!(curl(&url, &old_ca, &report_file).status, 201);
    assert_eq!(
        curl(&url, &new_ca, &report_file).status,
        0,
        "new cert not served yet"
    );
    let mut kept = tls_client(server.port, &[&old_cert]);
    let report = valid_report();
    assert_eq!(exchange(&mut kept, "/v1/tlsrpt", &[], &report).status, 200);

    std::fs::copy(&new_cert, &live_cert).unwrap();
    std::fs::copy(&new_key, &live_key).unwrap();
    server.signal("HUP");
    server.wait_for_log("TLS certificate reloaded");

    assert_eq!(curl(&url, &new_ca, &report_file).status, 200);
    assert_eq!(
        curl(&url, &old_ca, &report_file).status,
        0,
        "old cert retired"
    );
    assert_eq!(
        exchange(&mut kept, "/v1/tlsrpt", &[], &report).status,
        200,
        "the keep-alive connection made before the reload still works"
    );
    server.stop();
}

#[test]
fn demo_seeds_its_own_database_once_and_accepts_any_domain() {
    let server = Server::start_demo(tempfile::tempdir().unwrap());
    assert!(server.log().contains("demo: stored"), "{}", server.log());
    // No [[domains]] configured: the demo accepts reports about anyone's domain.
    let answer = post(
        &server,
        "/v1/tlsrpt",
        &["Content-Type: application/tlsrpt+json"],
        &std::fs::read(corpus("invalid-policy-type-missing-counts.json")).unwrap(),
    );
    assert_eq!(answer.status, 201, "{}", answer.body);
    let stopped = server.stop();
    let seeded = stopped.counts();
    assert!(seeded.reports > 3_000, "{seeded:?}");
    assert!(
        !stopped.0.path().join("tlsrpt-hub.db").exists(),
        "the real default is untouched"
    );

    let restarted = Server::start_demo(stopped.0);
    assert!(
        restarted.log().contains("already holds reports"),
        "{}",
        restarted.log()
    );
    assert_eq!(restarted.stop().counts(), seeded);
}
