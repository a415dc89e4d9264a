//! `alerts test --channel NAME` through real channels: e-mail to Debian's aiosmtpd over
//! STARTTLS (the captured message is read back), an HMAC-signed webhook and a Teams card to
//! an HTTP sink on loopback, and the errors of broken channels.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use hmac::{KeyInit, Mac};

use crate::serve_http::{free_port, self_signed};
use crate::{hub, stderr, stdout};

/// aiosmtpd delivering into a Maildir, killed on drop: with STARTTLS required before MAIL
/// (its default with --tlscert), or with implicit TLS (SMTPS).
struct Aiosmtpd {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl Aiosmtpd {
    fn start(dir: &Path, cert: &Path, key: &Path, implicit_tls: bool) -> Aiosmtpd {
        let port = free_port();
        let maildir = dir.join(format!("maildir-{port}"));
        let (cert_flag, key_flag) = if implicit_tls {
            ("--smtpscert", "--smtpskey")
        } else {
            ("--tlscert", "--tlskey")
        };
        let child = Command::new("aiosmtpd")
            .args(["-n", "-l", &format!("127.0.0.1:{port}")])
            .arg(cert_flag)
            .arg(cert)
            .arg(key_flag)
            .arg(key)
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd (Debian package python3-aiosmtpd)");
        let server = Aiosmtpd {
            child,
            port,
            maildir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn messages(&self) -> Vec<Vec<u8>> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries
            .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
            .collect()
    }
}

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn alerts_test(config: &Path, channel: &str) -> Output {
    hub()
        .arg("--config")
        .arg(config)
        .args(["alerts", "test", "--channel", channel])
        .output()
        .expect("running tlsrpt-hub")
}

#[test]
fn email_goes_out_over_starttls_with_the_alert_in_subject_and_body() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), "smtp");
    let (stranger, _) = self_signed(dir.path(), "stranger");
    let server = Aiosmtpd::start(dir.path(), &cert, &key, false);
    let smtps = Aiosmtpd::start(dir.path(), &cert, &key, true);
    let channel = |name: &str, security: &str, ca: &Path, port: u16| {
        format!(
            "[[channels]]\nname = \"{name}\"\nkind = \"email\"\nhost = \"127.0.0.1\"\n\
             port = {}\nsecurity = \"{security}\"\nca_file = \"{}\"\n\
             from = \"tlsrpt-hub <hub@example.com>\"\n\
             to = [\"admin@example.com\", \"Oncall <oncall@example.net>\"]\n",
            port,
            ca.display()
        )
    };
    let config = dir.path().join("hub.toml");
    std::fs::write(
        &config,
        [
            channel("mail", "starttls", &cert, server.port),
            channel("plain", "none", &cert, server.port),
            channel("untrusted", "starttls", &stranger, server.port),
            channel("implicit", "tls", &cert, smtps.port),
        ]
        .concat(),
    )
    .unwrap();

    let sent = alerts_test(&config, "mail");
    assert!(sent.status.success(), "{}", stderr(&sent));
    assert!(stdout(&sent).contains("sent a test alert through channel \"mail\""));
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let message = mail_parser::MessageParser::default()
        .parse(&messages[0])
        .unwrap();
    assert_eq!(
        message.subject(),
        Some(
            "[tlsrpt-hub] TEST example.com certificate-failure: certificate-expired at \
             mx1.example.com reported by Google"
        )
    );
    let from = message.from().unwrap().first().unwrap();
    assert_eq!(from.address(), Some("hub@example.com"));
    let to: Vec<&str> = message
        .to()
        .unwrap()
        .iter()
        .filter_map(|a| a.address())
        .collect();
    assert_eq!(to, ["admin@example.com", "oncall@example.net"]);
    // aiosmtpd records the SMTP envelope: both recipients got it.
    let envelope = message.header_raw("X-RcptTo").unwrap();
    assert!(envelope.contains("admin@example.com") && envelope.contains("oncall@example.net"));
    let body = message.body_text(0).unwrap();
    for expected in [
        "TEST: a sample alert sent by `tlsrpt-hub alerts test`",
        "Severity:  critical\n",
        "Action:\n  Renew the certificate on mx1.example.com",
        "MX hosts:        mx1.example.com\n",
        "Reporters:       Google Inc.\n",
        "Sending IPs:     192.0.2.25\n",
        "Failed sessions: 12 of 340\n",
        "Dashboard: https://tlsrpt.example.com/domains/example.com\n",
    ] {
        assert!(body.contains(expected), "{expected:?} missing from\n{body}");
    }

    // The server requires STARTTLS: without TLS the channel is refused, and says so.
    let plain = alerts_test(&config, "plain");
    assert!(!plain.status.success());
    let error = stderr(&plain);
    assert!(error.contains("channel \"plain\" (email)"), "{error}");
    assert!(error.contains("530"), "{error}");
    // A certificate from a CA the channel does not trust is refused before any mail.
    let untrusted = alerts_test(&config, "untrusted");
    assert!(!untrusted.status.success());
    let error = stderr(&untrusted);
    assert!(error.contains("channel \"untrusted\" (email)"), "{error}");
    assert!(error.to_lowercase().contains("certificate"), "{error}");
    assert_eq!(server.messages().len(), 1);

    // Implicit TLS (port 465 style) to a server that speaks TLS from the first byte.
    let implicit = alerts_test(&config, "implicit");
    assert!(implicit.status.success(), "{}", stderr(&implicit));
    let messages = smtps.messages();
    assert_eq!(messages.len(), 1);
    let message = mail_parser::MessageParser::default()
        .parse(&messages[0])
        .unwrap();
    assert!(
        message
            .subject()
            .unwrap()
            .starts_with("[tlsrpt-hub] TEST example.com")
    );
}

type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A real HTTP server on loopback that records every POST; runs until the runtime drops.
fn http_sink(runtime: &tokio::runtime::Runtime) -> (String, Received) {
    let received = Received::default();
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |State(received): State<Received>, headers: HeaderMap, body: Bytes| async move {
                    received.lock().unwrap().push((headers, body));
                },
            ),
        )
        .with_state(Arc::clone(&received));
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[test]
fn webhooks_are_signed_and_broken_channels_name_themselves() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (url, received) = http_sink(&runtime);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), "s3cret\n").unwrap();
    let config = dir.path().join("hub.toml");
    let dead_port = free_port();
    let channels = format!(
        "[[channels]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{url}\"\n\
         secret_file = \"{}\"\n\
         [[channels]]\nname = \"dead\"\nkind = \"webhook\"\n\
         url = \"http://127.0.0.1:{}/hook\"\n\
         [[channels]]\nname = \"chat\"\nkind = \"teams\"\nurl = \"{url}\"\n\
         [[channels]]\nname = \"gone\"\nkind = \"slack\"\nurl = \"{url}/gone\"\n",
        dir.path().join("secret").display(),
        dead_port
    );
    std::fs::write(&config, &channels).unwrap();

    let sent = alerts_test(&config, "hook");
    assert!(sent.status.success(), "{}", stderr(&sent));
    let (headers, body) = received.lock().unwrap()[0].clone();
    let timestamp = headers["x-tlsrpt-hub-timestamp"].to_str().unwrap();
    let age = chrono::Utc::now().timestamp() - timestamp.parse::<i64>().unwrap();
    assert!((0..300).contains(&age), "signed {age} s ago");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(&body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(headers["x-tlsrpt-hub-signature"], expected.as_str());
    assert_eq!(headers["content-type"], "application/json");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["type"], "notice");
    assert_eq!(json["notice"]["kind"], "test");
    assert_eq!(json["notice"]["alert"]["severity"], "critical");
    assert_eq!(
        json["notice"]["alert"]["evidence"]["receiving_mx_hosts"],
        serde_json::json!(["mx1.example.com"])
    );

    let chat = alerts_test(&config, "chat");
    assert!(chat.status.success(), "{}", stderr(&chat));
    let (headers, body) = received.lock().unwrap()[1].clone();
    assert!(!headers.contains_key("x-tlsrpt-hub-signature"));
    let card: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(card["@type"], "MessageCard");
    assert_eq!(card["sections"][0]["facts"][1]["name"], "MX hosts");

    let dead = alerts_test(&config, "dead");
    assert!(!dead.status.success());
    let error = stderr(&dead);
    assert!(error.contains("channel \"dead\" (webhook)"), "{error}");
    assert!(error.contains("POST failed"), "{error}");
    // Webhook URLs can hold credentials (chat services): errors leave them out.
    assert!(!error.contains(&format!(":{dead_port}/hook")), "{error}");

    // An answer other than 2xx is a failure, with the status.
    let gone = alerts_test(&config, "gone");
    assert!(!gone.status.success());
    let error = stderr(&gone);
    assert!(error.contains("channel \"gone\" (slack)"), "{error}");
    assert!(error.contains("answered HTTP 404 Not Found"), "{error}");

    let unknown = alerts_test(&config, "pager");
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown)
            .contains("no [[channels]] is named \"pager\" (configured: hook, dead, chat, gone)"),
        "{}",
        stderr(&unknown)
    );

    std::fs::write(
        &config,
        format!("{channels}[[routes]]\nchannels = [\"hook\", \"pagr\"]\n"),
    )
    .unwrap();
    let misrouted = alerts_test(&config, "hook");
    assert!(!misrouted.status.success());
    let error = stderr(&misrouted);
    assert!(
        error.contains("[[routes]] number 1: channels: no [[channels]] is named \"pagr\""),
        "{error}"
    );
    assert_eq!(received.lock().unwrap().len(), 2);
}
