//! `tlsrpt-hub check` end to end, against real servers on loopback: Knot DNS (knotd, run by
//! the test as its child with a zone the test writes), `tlsrpt-hub serve` hosting MTA-STS
//! policies over HTTPS with a test CA, and a small in-test HTTPS server (rustls over std
//! TCP) for the ways a policy host can be wrong: 404, redirect, wrong certificate name,
//! oversize body, slow answer. `--starttls` probes the project's own SMTP receiver
//! (`serve` with `[smtp]`) holding a valid and an expired certificate from the test CA.
//!
//! knotd signs the zone (DNSSEC, ECDSA P-256, keys made at start). An authoritative server
//! never sets the AD bit, so asked directly `check` must call the TLSA records
//! unauthenticated; through unbound (a validating resolver run by the test with the zone's
//! key as trust anchor) it must see them validated.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::serve_http::{Running, Server, free_port};
use crate::{hub, stderr, stdout};

const TLSA_DATA: &str = "8d02536c887482bc34ff54e41d2ba659bf85b341a0a20afadb5813dcfbcf286d";

/// Every case is a subdomain of `test.`, in one zone.
fn zone() -> String {
    let mut zone = String::from(
        "$ORIGIN test.\n$TTL 60\n\
         @ SOA ns.test. admin.test. 1 60 60 600 60\n\
         @ NS ns.test.\n\
         ns A 127.0.0.1\n\
         mx.good A 127.0.0.1\n\
         mta-sts.good A 127.0.0.1\n\
         good MX 10 mx.good.test.\n\
         ; split into two character-strings, joined by senders (RFC 8460 §3)\n\
         _smtp._tls.good TXT \"v=TLSRPTv1; \" \"rua=mailto:tlsrpt@good.test\"\n\
         _smtp._tls.good TXT \"v=spf1 -all\"\n\
         _mta-sts.good TXT \"v=STSv1; id=20260101T000000;\"\n\
         none MX 10 mx.good.test.\n\
         two MX 10 mx.good.test.\n\
         _smtp._tls.two TXT \"v=TLSRPTv1; rua=mailto:a@two.test\"\n\
         _smtp._tls.two TXT \"v=TLSRPTv1; rua=mailto:b@two.test\"\n\
         syntax MX 10 mx.good.test.\n\
         _smtp._tls.syntax TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@syntax.test!10m\"\n\
         _mta-sts.syntax TXT \"v=STSv1; id=2026-01-01\"\n\
         drift MX 10 mx2.drift.test.\n\
         mx2.drift A 127.0.0.1\n\
         _smtp._tls.drift TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@drift.test\"\n\
         _mta-sts.drift TXT \"v=STSv1; id=1\"\n\
         dane MX 10 mx.dane.test.\n\
         mx.dane A 127.0.0.1\n\
         _smtp._tls.dane TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@dane.test\"\n",
    );
    zone.push_str(&format!("_25._tcp.mx.dane TLSA 3 1 1 {TLSA_DATA}\n"));
    for smtp in ["tls", "mismatch", "expired"] {
        zone.push_str(&format!(
            "{smtp} MX 10 mx.{smtp}.test.\nmx.{smtp} A 127.0.0.1\n\
             _smtp._tls.{smtp} TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@{smtp}.test\"\n"
        ));
    }
    for bad in BAD_HOSTS {
        zone.push_str(&format!(
            "{bad} MX 10 mx.good.test.\n\
             _smtp._tls.{bad} TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@{bad}.test\"\n\
             _mta-sts.{bad} TXT \"v=STSv1; id=1\"\n"
        ));
    }
    zone
}

/// Domains whose policy host (the in-test server) misbehaves; named after how.
const BAD_HOSTS: &[&str] = &["redirect", "notfound", "big", "slow", "html", "wrongname"];

/// knotd serving [`zone`] on a loopback port, killed on drop.
struct Knot {
    _child: Running,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Knot {
    fn start() -> Knot {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        std::fs::write(dir.path().join("test.zone"), zone()).unwrap();
        let config = dir.path().join("knot.conf");
        std::fs::write(
            &config,
            format!(
                "server:\n    rundir: \"{d}\"\n    listen: 127.0.0.1@{port}\n    \
                 udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n\
                 log:\n  - target: stderr\n    any: info\n\
                 database:\n    storage: \"{d}/db\"\n\
                 policy:\n  - id: test\n    algorithm: ecdsap256sha256\n    single-type-signing: on\n\
                 zone:\n  - domain: test.\n    storage: \"{d}\"\n    file: \"test.zone\"\n    \
                 dnssec-signing: on\n    dnssec-policy: test\n",
                d = dir.path().display()
            ),
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("db")).unwrap();
        let log = std::fs::File::create(dir.path().join("knot.log")).unwrap();
        let child = Command::new("knotd")
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting knotd (Debian package knot)");
        let knot = Knot {
            _child: Running(child),
            port,
            _dir: dir,
        };
        knot.wait_until_serving();
        knot
    }

    /// The zone is loaded after the sockets open: wait for its SOA, not for the port.
    fn wait_until_serving(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let answer = Command::new("kdig")
                .args(["@127.0.0.1", "-p", &self.port.to_string()])
                .args(["+tcp", "+short", "+time=1", "test.", "SOA"])
                .output()
                .expect("kdig (Debian package knot-dnsutils)");
            if String::from_utf8_lossy(&answer.stdout).contains("ns.test.") {
                return;
            }
            let log = std::fs::read_to_string(self._dir.path().join("knot.log"));
            assert!(
                Instant::now() < deadline,
                "knotd does not serve test.:\n{log:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Replaces the zone and has knotd reload it. The SOA serial must be above the one
    /// knotd reached by signing (it bumps the file's serial once per signing).
    fn replace_zone(&self, zone: &str) {
        std::fs::write(self._dir.path().join("test.zone"), zone).unwrap();
        let output = Command::new("knotc")
            .arg("-c")
            .arg(self._dir.path().join("knot.conf"))
            .args(["zone-reload", "test."])
            .output()
            .expect("knotc (Debian package knot)");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn resolver(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// A private CA made with the openssl command line, and certificates it issues.
struct Ca {
    dir: tempfile::TempDir,
}

impl Ca {
    fn new() -> Ca {
        let dir = tempfile::tempdir().unwrap();
        openssl(
            Command::new("openssl")
                .args(["req", "-x509", "-newkey", "ec"])
                .args(["-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
                .args(["-days", "2", "-subj", "/CN=tlsrpt-hub test CA"])
                .args(["-addext", "basicConstraints=critical,CA:TRUE"])
                .args(["-addext", "keyUsage=critical,keyCertSign"])
                .arg("-keyout")
                .arg(dir.path().join("ca.key"))
                .arg("-out")
                .arg(dir.path().join("ca.crt")),
        );
        Ca { dir }
    }

    fn cert(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// A server certificate for `names`, valid for two days; returns (cert PEM, key PEM).
    fn issue(&self, file: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        self.issue_for_days(file, names, "2")
    }

    /// `days` "-1" gives a certificate whose notAfter is a day ago: expired.
    fn issue_for_days(&self, file: &str, names: &[&str], days: &str) -> (PathBuf, PathBuf) {
        let dir = self.dir.path();
        let (key, csr, cert, ext) = (
            dir.join(format!("{file}.key")),
            dir.join(format!("{file}.csr")),
            dir.join(format!("{file}.crt")),
            dir.join(format!("{file}.ext")),
        );
        let sans: Vec<String> = names.iter().map(|n| format!("DNS:{n}")).collect();
        std::fs::write(
            &ext,
            format!(
                "subjectAltName={}\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n",
                sans.join(",")
            ),
        )
        .unwrap();
        openssl(
            Command::new("openssl")
                .args(["req", "-new", "-newkey", "ec"])
                .args(["-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
                .args(["-subj", &format!("/CN={}", names[0])])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&csr),
        );
        openssl(
            Command::new("openssl")
                .args(["x509", "-req", "-days", days, "-CAcreateserial"])
                .arg("-in")
                .arg(&csr)
                .arg("-CA")
                .arg(self.cert())
                .arg("-CAkey")
                .arg(dir.join("ca.key"))
                .arg("-extfile")
                .arg(&ext)
                .arg("-out")
                .arg(&cert),
        );
        (cert, key)
    }
}

fn openssl(command: &mut Command) {
    let output = command.output().expect("openssl");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The in-test HTTPS policy host for [`BAD_HOSTS`]: one thread per connection, behaviour
/// chosen by the Host header. Its certificate names every bad host except `wrongname`.
struct BadPolicyHost {
    address: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl BadPolicyHost {
    fn start(ca: &Ca) -> BadPolicyHost {
        use rustls::pki_types::pem::PemObject;
        let names: Vec<String> = BAD_HOSTS
            .iter()
            .filter(|bad| **bad != "wrongname")
            .map(|bad| format!("mta-sts.{bad}.test"))
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let (cert, key) = ca.issue("bad", &names);
        let chain = rustls::pki_types::CertificateDer::pem_file_iter(&cert)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = rustls::pki_types::PrivateKeyDer::from_pem_file(&key).unwrap();
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap(),
        );
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let address = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((tcp, _)) => {
                        let config = Arc::clone(&config);
                        std::thread::spawn(move || answer(config, tcp));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        BadPolicyHost { address, stop }
    }
}

impl Drop for BadPolicyHost {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

const GOOD_POLICY: &str =
    "version: STSv1\r\nmode: testing\r\nmx: mx.good.test\r\nmax_age: 604800\r\n";

fn answer(config: Arc<rustls::ServerConfig>, tcp: TcpStream) {
    tcp.set_nonblocking(false).unwrap();
    let connection = rustls::ServerConnection::new(config).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    let mut host = String::new();
    let mut reader = BufReader::new(&mut tls);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return; // handshake refused by the client (wrong name) or closed
        }
        if let Some(value) = line.strip_prefix("Host:").or(line.strip_prefix("host:")) {
            host = value.trim().to_owned();
        }
        if line == "\r\n" {
            break;
        }
    }
    let reply = match host.split('.').nth(1).unwrap_or_default() {
        "redirect" => "HTTP/1.1 301 Moved Permanently\r\nLocation: https://www.redirect.test/mta-sts.txt\r\nContent-Length: 0\r\n\r\n".to_owned(),
        "notfound" => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_owned(),
        "html" => reply("text/html", GOOD_POLICY),
        "big" => reply("text/plain", &format!("{GOOD_POLICY}{}", "# padding\r\n".repeat(10_000))),
        "slow" => {
            std::thread::sleep(Duration::from_secs(6));
            reply("text/plain", GOOD_POLICY)
        }
        _ => "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n".to_owned(),
    };
    let _ = tls.write_all(reply.as_bytes());
    let _ = tls.flush();
    let mut rest = Vec::new();
    let _ = tls.read_to_end(&mut rest);
}

fn reply(content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// `tlsrpt-hub serve` over HTTPS hosting the good.test and drift.test policies.
fn policy_server(ca: &Ca) -> Server {
    let (cert, key) = ca.issue("hub", &["mta-sts.good.test", "mta-sts.drift.test"]);
    Server::start(
        &format!("tls_cert = {cert:?}\ntls_key = {key:?}\n"),
        "[[domains]]\nname = \"good.test\"\n\
         mta_sts = { mode = \"testing\", mx = [\"mx.good.test\"], max_age = 604800 }\n\
         [[domains]]\nname = \"drift.test\"\n\
         mta_sts = { mode = \"enforce\", mx = [\"mx1.drift.test\"] }\n",
    )
}

fn check(knot: &Knot, extra: &[&str], domains: &[&str]) -> (Output, Value) {
    let output = hub()
        .args(["check", "--format", "json", "--resolver", &knot.resolver()])
        .args(extra)
        .args(domains)
        .output()
        .expect("running tlsrpt-hub check");
    let json = serde_json::from_str(&stdout(&output))
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&output), stderr(&output)));
    (output, json)
}

/// The findings of one domain with this check name.
fn findings<'a>(json: &'a Value, domain: &str, check: &str) -> Vec<&'a Value> {
    json["domains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["domain"] == domain)
        .unwrap_or_else(|| panic!("no {domain} in {json:#}"))["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .collect()
}

/// The one finding of `check` with `status` whose message contains `needle`.
fn has(json: &Value, domain: &str, check: &str, status: &str, needle: &str) -> Value {
    let all = findings(json, domain, check);
    all.iter()
        .find(|f| f["status"] == status && f["message"].as_str().unwrap().contains(needle))
        .map(|f| (*f).clone())
        .unwrap_or_else(|| panic!("no {status} {check} {needle:?} for {domain} in {all:#?}"))
}

fn serve_override(server: &Server) -> String {
    format!("127.0.0.1:{}", server.port)
}

#[test]
fn a_good_domain_passes_every_check_and_exits_0() {
    let knot = Knot::start();
    let ca = Ca::new();
    let server = policy_server(&ca);
    let ca_file = ca.cert();
    let over = serve_override(&server);
    let extra = [
        "--policy-host-override",
        &over,
        "--ca-file",
        ca_file.to_str().unwrap(),
    ];
    let (output, json) = check(&knot, &extra, &["good.test"]);
    assert_eq!(output.status.code(), Some(0), "{json:#}");
    assert_eq!(json["status"], "pass");
    has(
        &json,
        "good.test",
        "tlsrpt-record",
        "pass",
        "mailto:tlsrpt@good.test",
    );
    has(
        &json,
        "good.test",
        "sts-record",
        "pass",
        "id=20260101T000000",
    );
    has(&json, "good.test", "sts-fetch", "pass", "200");
    has(&json, "good.test", "sts-policy", "pass", "mode testing");
    has(
        &json,
        "good.test",
        "mx-sync",
        "pass",
        "every MX host matches",
    );
    has(&json, "good.test", "mx", "pass", "127.0.0.1");
    has(&json, "good.test", "tlsa", "pass", "no TLSA");

    // The same run for people: one verdict line per check, no colour when piped.
    let text = hub()
        .args(["check", "--resolver", &knot.resolver()])
        .args(extra)
        .arg("good.test")
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(0));
    let text = stdout(&text);
    assert!(text.starts_with("good.test: pass\n"), "{text}");
    assert!(text.contains("  pass  sts-policy"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "colour codes in piped output: {text}"
    );

    // Without the test CA, the certificate is not trusted: the same run fails.
    let (output, json) = check(&knot, &extra[..2], &["good.test"]);
    assert_eq!(output.status.code(), Some(3), "{json:#}");
    let fetch = has(&json, "good.test", "sts-fetch", "fail", "fetch failed");
    assert!(
        fetch["fix"].as_str().unwrap().contains("mta-sts.good.test"),
        "{fetch}"
    );
}

#[test]
fn broken_records_fail_with_positions_and_fixes() {
    let knot = Knot::start();
    let (output, json) = check(&knot, &[], &["none.test", "two.test", "syntax.test"]);
    assert_eq!(output.status.code(), Some(3), "{json:#}");
    assert_eq!(json["status"], "fail");

    let none = has(&json, "none.test", "tlsrpt-record", "fail", "no record");
    assert!(
        none["fix"]
            .as_str()
            .unwrap()
            .contains("tlsrpt-hub record tlsrpt none.test --rua"),
        "{none}"
    );
    has(&json, "none.test", "sts-record", "warn", "no record");

    let two = has(&json, "two.test", "tlsrpt-record", "fail", "2 TXT records");
    assert!(
        two["fix"].as_str().unwrap().contains("all but one"),
        "{two}"
    );

    has(&json, "syntax.test", "tlsrpt-record", "fail", "column 42");
    has(&json, "syntax.test", "tlsrpt-record", "fail", "size-suffix");
    has(&json, "syntax.test", "sts-record", "fail", "invalid-id");
    // No valid record: senders never fetch the policy, so neither does check.
    assert!(findings(&json, "syntax.test", "sts-fetch").is_empty());
}

#[test]
fn a_policy_out_of_sync_with_the_mx_hosts_is_found_both_ways() {
    let knot = Knot::start();
    let ca = Ca::new();
    let server = policy_server(&ca);
    let ca_file = ca.cert();
    let over = serve_override(&server);
    let (output, json) = check(
        &knot,
        &[
            "--policy-host-override",
            &over,
            "--ca-file",
            ca_file.to_str().unwrap(),
        ],
        &["drift.test"],
    );
    assert_eq!(output.status.code(), Some(3), "{json:#}");
    let missing = has(
        &json,
        "drift.test",
        "mx-sync",
        "fail",
        "mx2.drift.test matches no mx line",
    );
    assert!(
        missing["message"].as_str().unwrap().contains("refuse"),
        "{missing}"
    );
    assert!(
        missing["fix"]
            .as_str()
            .unwrap()
            .contains("tlsrpt-hub record mta-sts-policy drift.test"),
        "{missing}"
    );
    has(
        &json,
        "drift.test",
        "mx-sync",
        "warn",
        "\"mx1.drift.test\" matches none",
    );
}

/// unbound validating `test.` with knotd's key as the trust anchor; killed on drop.
struct Unbound {
    _child: Running,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Unbound {
    fn start(knot: &Knot) -> Unbound {
        let key = String::from_utf8(
            Command::new("kdig")
                .args(["@127.0.0.1", "-p", &knot.port.to_string()])
                .args(["+tcp", "+short", "test.", "DNSKEY"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let key = key.lines().find(|k| k.starts_with("257 ")).expect("a KSK");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = dir.path().join("unbound.conf");
        std::fs::write(
            &config,
            format!(
                "server:\n  interface: 127.0.0.1\n  port: {port}\n  do-daemonize: no\n  \
                 username: \"\"\n  chroot: \"\"\n  directory: \"{d}\"\n  \
                 pidfile: \"{d}/unbound.pid\"\n  use-syslog: no\n  \
                 do-not-query-localhost: no\n  access-control: 127.0.0.0/8 allow\n  \
                 module-config: \"validator iterator\"\n  \
                 local-zone: \"test.\" nodefault\n  trust-anchor: \"test. DNSKEY {key}\"\n\
                 stub-zone:\n  name: \"test.\"\n  stub-addr: 127.0.0.1@{knot}\n",
                d = dir.path().display(),
                knot = knot.port
            ),
        )
        .unwrap();
        let child = Command::new("unbound")
            .args(["-d", "-c"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("unbound (Debian package unbound)");
        let unbound = Unbound {
            _child: Running(child),
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let answer = Command::new("kdig")
                .args(["@127.0.0.1", "-p", &port.to_string()])
                .args(["+short", "+time=1", "test.", "SOA"])
                .output()
                .unwrap();
            if String::from_utf8_lossy(&answer.stdout).contains("ns.test.") {
                return unbound;
            }
            assert!(Instant::now() < deadline, "unbound does not answer");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn tlsa_records_are_reported_with_their_dnssec_status() {
    let knot = Knot::start();
    let (output, json) = check(&knot, &[], &["dane.test"]);
    // Warnings only: no MTA-STS record, and knotd (authoritative) does not validate.
    assert_eq!(output.status.code(), Some(1), "{json:#}");
    has(
        &json,
        "dane.test",
        "tlsa",
        "pass",
        &format!("TLSA 3 1 1 {}", TLSA_DATA.to_uppercase()),
    );
    let ad = has(&json, "dane.test", "tlsa", "warn", "AD bit clear");
    assert_eq!(ad["subject"], "_25._tcp.mx.dane.test");

    // Through a validating resolver the same records are DNSSEC-validated.
    let unbound = Unbound::start(&knot);
    let output = hub()
        .args(["check", "--format", "json", "--resolver"])
        .arg(format!("127.0.0.1:{}", unbound.port))
        .arg("dane.test")
        .output()
        .unwrap();
    let json: Value = serde_json::from_str(&stdout(&output)).unwrap();
    has(&json, "dane.test", "tlsa", "pass", "AD bit set");
    assert!(
        findings(&json, "dane.test", "tlsa")
            .iter()
            .all(|f| f["status"] == "pass"),
        "{json:#}"
    );
}

#[test]
fn every_way_a_policy_host_can_be_wrong() {
    let knot = Knot::start();
    let ca = Ca::new();
    let bad = BadPolicyHost::start(&ca);
    let over = bad.address.to_string();
    let ca_file = ca.cert();
    let domains: Vec<String> = BAD_HOSTS.iter().map(|b| format!("{b}.test")).collect();
    let domains: Vec<&str> = domains.iter().map(String::as_str).collect();
    let started = Instant::now();
    let (output, json) = check(
        &knot,
        &[
            "--policy-host-override",
            &over,
            "--ca-file",
            ca_file.to_str().unwrap(),
            "--timeout",
            "2",
        ],
        &domains,
    );
    assert_eq!(output.status.code(), Some(3), "{json:#}");
    has(
        &json,
        "redirect.test",
        "sts-fetch",
        "fail",
        "do not follow redirects",
    );
    has(&json, "notfound.test", "sts-fetch", "fail", "HTTP 404");
    has(
        &json,
        "big.test",
        "sts-fetch",
        "fail",
        "larger than 65536 bytes",
    );
    has(
        &json,
        "html.test",
        "sts-fetch",
        "fail",
        "Content-Type is text/html",
    );
    let slow = has(&json, "slow.test", "sts-fetch", "fail", "fetch failed");
    assert!(
        slow["fix"].as_str().unwrap().contains("within seconds"),
        "{slow}"
    );
    let name = has(&json, "wrongname.test", "sts-fetch", "fail", "fetch failed");
    assert!(
        name["message"]
            .as_str()
            .unwrap()
            .contains("NotValidForName")
            || name["message"]
                .as_str()
                .unwrap()
                .contains("not valid for name"),
        "{name}"
    );
    assert!(
        name["fix"]
            .as_str()
            .unwrap()
            .contains("certificate from a public CA that names mta-sts.wrongname.test"),
        "{name}"
    );
    // The slow host held its answer for 6 s; the 2 s timeout must have cut it short.
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn record_builds_the_policy_from_the_live_mx_hosts() {
    let knot = Knot::start();
    let output = hub()
        .args([
            "record",
            "mta-sts-policy",
            "drift.test",
            "--resolver",
            &knot.resolver(),
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "version: STSv1\r\nmode: testing\r\nmx: mx2.drift.test\r\nmax_age: 86400\r\n"
    );
    let none = hub()
        .args([
            "record",
            "mta-sts-policy",
            "nomx.test",
            "--resolver",
            &knot.resolver(),
        ])
        .output()
        .unwrap();
    assert_eq!(none.status.code(), Some(2));
    assert!(
        stderr(&none).contains("no usable MX records"),
        "{}",
        stderr(&none)
    );
}

#[test]
fn serve_hosts_policies_by_host_name_only() {
    let ca = Ca::new();
    let server = policy_server(&ca);
    let get = |host: &str| {
        Command::new("curl")
            .args(["-s", "-i", "--cacert"])
            .arg(ca.cert())
            .args([
                "--resolve",
                &format!("{host}:{}:127.0.0.1", server.port),
                &format!("https://{host}:{}/.well-known/mta-sts.txt", server.port),
            ])
            .output()
            .unwrap()
    };
    let good = stdout(&get("mta-sts.good.test"));
    assert!(good.starts_with("HTTP/1.1 200"), "{good}");
    assert!(
        good.to_ascii_lowercase()
            .contains("content-type: text/plain"),
        "{good}"
    );
    assert!(good.ends_with(GOOD_POLICY), "{good}");
    let drift = stdout(&get("mta-sts.drift.test"));
    assert!(
        drift.contains("mode: enforce\r\nmx: mx1.drift.test\r\n"),
        "{drift}"
    );
    let other = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-k"])
        .args(["-H", "Host: mta-sts.other.test"])
        .arg(format!(
            "https://127.0.0.1:{}/.well-known/mta-sts.txt",
            server.port
        ))
        .output()
        .unwrap();
    assert_eq!(stdout(&other), "404");
}

/// The project's own SMTP receiver (`serve` with an `[smtp]` section) offering STARTTLS
/// with the given certificate on a loopback port; returns the server (stopped on drop) and
/// its SMTP port. `serve` is up once it logs "serving;", after every listener is bound.
fn smtp_receiver(cert: &std::path::Path, key: &std::path::Path) -> (Server, u16) {
    let port = free_port();
    let server = Server::start(
        &format!(
            "[smtp]\nlisten = \"127.0.0.1:{port}\"\nhostname = \"mx.test\"\n\
             addresses = [\"tlsrpt@tls.test\"]\ntls_cert = {cert:?}\ntls_key = {key:?}\n"
        ),
        "dkim = \"off\"\n",
    );
    (server, port)
}

#[test]
fn starttls_reports_certificate_validity_expiry_and_name() {
    let knot = Knot::start();
    let ca = Ca::new();
    let ca_file = ca.cert();
    let (cert, key) = ca.issue_for_days("mx", &["mx.tls.test"], "90");
    let (_valid, port) = smtp_receiver(&cert, &key);
    let port = port.to_string();
    let (_, json) = check(
        &knot,
        &[
            "--starttls",
            "--smtp-port",
            &port,
            "--ca-file",
            ca_file.to_str().unwrap(),
        ],
        &["tls.test", "mismatch.test"],
    );
    let good = has(
        &json,
        "tls.test",
        "starttls",
        "pass",
        "certificate valid for mx.tls.test",
    );
    let expires = (chrono::Utc::now() + chrono::Duration::days(90))
        .format("%Y-%m-%d")
        .to_string();
    assert!(
        good["message"].as_str().unwrap().contains(&expires),
        "{good}"
    );
    let mismatch = has(
        &json,
        "mismatch.test",
        "starttls",
        "fail",
        "certificate names mx.tls.test, not mx.mismatch.test",
    );
    assert!(
        mismatch["message"]
            .as_str()
            .unwrap()
            .contains("certificate-host-mismatch")
    );

    // Without the CA the same certificate is untrusted.
    let (_, json) = check(&knot, &["--starttls", "--smtp-port", &port], &["tls.test"]);
    has(
        &json,
        "tls.test",
        "starttls",
        "fail",
        "certificate-not-trusted",
    );

    let (cert, key) = ca.issue_for_days("expired", &["mx.expired.test"], "-1");
    let (_expired, port) = smtp_receiver(&cert, &key);
    let port = port.to_string();
    let (output, json) = check(
        &knot,
        &[
            "--starttls",
            "--smtp-port",
            &port,
            "--ca-file",
            ca_file.to_str().unwrap(),
        ],
        &["expired.test"],
    );
    assert_eq!(output.status.code(), Some(3), "{json:#}");
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let finding = has(
        &json,
        "expired.test",
        "starttls",
        "fail",
        "certificate-expired",
    );
    assert!(
        finding["message"].as_str().unwrap().contains(&yesterday),
        "{finding}"
    );

    // Nothing listening: the probe fails with the reason, it does not hang.
    let closed = free_port().to_string();
    let (_, json) = check(
        &knot,
        &["--starttls", "--smtp-port", &closed],
        &["tls.test"],
    );
    has(&json, "tls.test", "starttls", "fail", "cannot connect");
}

#[test]
fn serve_checks_its_domains_and_records_what_changed() {
    let knot = Knot::start();
    let mut server = Server::start(
        "",
        &format!(
            "[[domains]]\nname = \"good.test\"\n\
             [checks]\nresolver = \"{}\"\ninterval_seconds = 1\n",
            knot.resolver()
        ),
    );
    server.wait_for_log("checked good.test");
    // The TLSRPT record goes away and the MTA-STS policy gets a new id.
    let changed = zone()
        .replace("admin.test. 1 ", "admin.test. 100 ")
        .replace("id=20260101T000000", "id=20260202T000000")
        .replace(
            "_smtp._tls.good TXT \"v=TLSRPTv1; \" \"rua=mailto:tlsrpt@good.test\"\n",
            "",
        );
    knot.replace_zone(&changed);
    server.wait_for_log("tlsrpt-record-removed");
    server.wait_for_log("id 20260101T000000 -> 20260202T000000");
    let db = server.db();
    let stopped = server.stop();
    let latest = crate::with_store(&db, async |store| {
        store.latest_domain_check("good.test").await.unwrap()
    })
    .expect("a stored run");
    assert_eq!(latest.status, "fail", "{latest:?}");
    let observed: Value = serde_json::from_str(&latest.snapshot).unwrap();
    assert_eq!(observed["tlsrpt_record"], Value::Null);
    assert_eq!(observed["sts_id"], "20260202T000000");
    let findings: Value = serde_json::from_str(&latest.findings).unwrap();
    assert!(
        findings
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["check"] == "tlsrpt-record" && f["status"] == "fail"),
        "{findings:#}"
    );
    drop(stopped);
}
