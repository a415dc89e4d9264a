//! The SMTP/LMTP receiver of `tlsrpt-hub serve`, with real clients on loopback: `swaks`
//! (Debian) and `lettre`, plain and over STARTTLS. Every reply code the receiver promises is
//! provoked and asserted, and the database is checked afterwards.
//!
//! DKIM is off here (its own tests are in `dkim.rs`): these tests must not ask the
//! internet for google.com's keys.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use tlsrpt_store::Origin;

use crate::serve_http::{Server, free_port, self_signed};
use crate::{corpus, with_store};

const MAILED: &[&str] = &[
    "google-2022.eml",
    "google-2024-gateway-banner.eml",
    "microsoft-2023-no-timezone.eml",
    "synthetic-rpt01.eml",
];

/// A server with an SMTP (or LMTP) listener; returns it and the SMTP port.
fn start(smtp: &str, rest: &str) -> (Server, u16) {
    let port = free_port();
    let server = Server::start(
        &format!(
            "[smtp]\nlisten = \"127.0.0.1:{port}\"\nhostname = \"mx.test\"\n\
             addresses = [\"tlsrpt@example.com\", \"Reports@Example.net\"]\n{smtp}\n"
        ),
        &format!("unknown_domains = \"accept\"\ndkim = \"off\"\n{rest}"),
    );
    (server, port)
}

/// Runs swaks; returns whether it succeeded and its transcript (`<-` server lines, `<**`
/// error replies).
fn swaks(port: u16, args: &[&str]) -> (bool, String) {
    let output = Command::new("swaks")
        .args(["--server", "127.0.0.1", "--port", &port.to_string()])
        .args(["--from", "noreply-smtp-tls-reporting@google.com"])
        .args(["--timeout", "30"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("swaks (Debian package swaks)");
    let transcript = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), transcript)
}

fn data_file(path: &Path) -> String {
    path.to_str().expect("utf-8 path").to_owned()
}

/// The reply lines swaks printed, as `code text` (`<-` plain, `<~` over TLS, `*` when it
/// is an error reply).
fn replies(transcript: &str) -> Vec<String> {
    transcript
        .lines()
        .filter_map(|l| {
            ["<- ", "<** ", "<~ ", "<~* "]
                .iter()
                .find_map(|prefix| l.strip_prefix(prefix))
        })
        .map(|l| l.trim().to_owned())
        .collect()
}

fn stored_origins(db: &Path) -> Vec<Origin> {
    with_store(db, async |store| {
        let subs = store.submissions(None, 100).await.unwrap();
        subs.into_iter().map(|s| s.origin).collect()
    })
}

#[test]
fn swaks_and_lettre_deliver_the_corpus_plain_and_over_starttls() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), "mx");
    let (server, port) = start(&format!("tls_cert = {cert:?}\ntls_key = {key:?}"), "");
    for (i, name) in MAILED.iter().enumerate() {
        let mut args = vec![
            "--to".to_owned(),
            "tlsrpt@example.com".to_owned(),
            "--data".to_owned(),
            data_file(&corpus(name)),
        ];
        if i % 2 == 1 {
            args.push("--tls".to_owned());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, transcript) = swaks(port, &args);
        assert!(ok, "{name}:\n{transcript}");
        let replies = replies(&transcript);
        assert!(
            replies
                .iter()
                .any(|r| r.starts_with("250 2.0.0 report stored (1 new)")),
            "{name}: {replies:?}"
        );
        if i % 2 == 1 {
            assert!(transcript.contains("TLS started"), "{transcript}");
        }
    }
    // EHLO announces what the receiver does.
    let (_, transcript) = swaks(
        port,
        &["--to", "tlsrpt@example.com", "--quit-after", "EHLO"],
    );
    for capability in ["STARTTLS", "8BITMIME", "PIPELINING", "SIZE 10485760"] {
        assert!(
            transcript.contains(capability),
            "{capability}:\n{transcript}"
        );
    }

    // lettre over STARTTLS, trusting only the test certificate: the same report again
    // is a duplicate, answered 250 so the sender stops retrying.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pem = std::fs::read(&cert).unwrap();
    let raw = std::fs::read(corpus("google-2022.eml")).unwrap();
    let response = runtime.block_on(async {
        use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
        use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
        let tls = TlsParameters::builder("127.0.0.1".to_owned())
            .add_root_certificate(Certificate::from_pem(&pem).unwrap())
            .build_rustls()
            .unwrap();
        let mailer = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(port)
            .tls(Tls::Required(tls))
            .build();
        let envelope = lettre::address::Envelope::new(
            Some("noreply-smtp-tls-reporting@google.com".parse().unwrap()),
            vec!["Reports@example.NET".parse().unwrap()],
        )
        .unwrap();
        mailer.send_raw(&envelope, &raw).await
    });
    let response = response.expect("lettre delivers over STARTTLS");
    assert_eq!(u16::from(response.code()), 250);
    assert!(
        response.message().any(|l| l.contains("already stored")),
        "{response:?}"
    );

    let db = server.db();
    let stopped = server.stop();
    let counts = stopped.counts();
    assert_eq!(counts.reports, MAILED.len() as u64);
    assert_eq!(counts.duplicates_seen, 1);
    assert_eq!(stored_origins(&db), vec![Origin::Smtp; MAILED.len()]);
}

#[test]
fn refusals_have_their_exact_reply_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (server, port) = start("max_message_bytes = 20000", "");

    let (ok, transcript) = swaks(port, &["--to", "postmaster@example.com"]);
    assert!(!ok);
    // The EHLO reply names the configured host and greets plainly.
    assert!(
        transcript.contains("<-  250-mx.test hello\n"),
        "{transcript}"
    );
    assert!(!transcript.contains("had me"), "{transcript}");
    assert!(
        replies(&transcript)
            .iter()
            .any(|r| r.starts_with("550 5.1.1 <postmaster@example.com>")),
        "{transcript}"
    );

    let (ok, transcript) = swaks(
        port,
        &["--to", "tlsrpt@example.com", "--body", "no report in here"],
    );
    assert!(!ok);
    assert!(
        replies(&transcript)
            .iter()
            .any(|r| r.starts_with("554 5.6.0")),
        "{transcript}"
    );

    let big = dir.path().join("big.eml");
    let mut mail = std::fs::read(corpus("synthetic-rpt01.eml")).unwrap();
    while mail.len() < 30_000 {
        mail.extend_from_slice(b"padding padding padding padding padding padding\r\n");
    }
    std::fs::write(&big, mail).unwrap();
    let (ok, transcript) = swaks(
        port,
        &["--to", "tlsrpt@example.com", "--data", &data_file(&big)],
    );
    assert!(!ok);
    assert!(
        replies(&transcript)
            .iter()
            .any(|r| r.starts_with("552 5.3.4 message exceeds the fixed maximum size of 20000")),
        "{transcript}"
    );

    // The store is down (another process holds SQLite's write lock): 451, the sender
    // keeps the report queued; its retry is stored.
    let mut locker = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys\n\
             c = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
             c.execute('BEGIN EXCLUSIVE')\n\
             print('locked', flush=True)\n\
             sys.stdin.read()\n",
        ])
        .arg(server.db())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 for the SQLite lock");
    let mut line = String::new();
    BufReader::new(locker.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    let report = data_file(&corpus("microsoft-2023-no-timezone.eml"));
    let (ok, transcript) = swaks(port, &["--to", "tlsrpt@example.com", "--data", &report]);
    assert!(!ok);
    assert!(
        replies(&transcript)
            .iter()
            .any(|r| r.starts_with("451 4.3.0")),
        "{transcript}"
    );
    drop(locker.stdin.take());
    assert!(locker.wait().unwrap().success());
    let (ok, transcript) = swaks(port, &["--to", "tlsrpt@example.com", "--data", &report]);
    assert!(ok, "{transcript}");

    let log = server.log();
    assert!(log.contains("code=451"), "{log}");
    assert_eq!(server.stop().counts().reports, 1);
}

#[test]
fn lmtp_answers_once_per_recipient_after_data() {
    let (server, port) = start("lmtp = true", "");
    let report = data_file(&corpus("synthetic-rpt01.eml"));
    // swaks counts the refused recipient as a failure; the replies are what matters.
    let (_, transcript) = swaks(
        port,
        &[
            "--protocol",
            "LMTP",
            "--to",
            "tlsrpt@example.com,nobody@example.com,reports@example.net",
            "--data",
            &report,
        ],
    );
    let replies = replies(&transcript);
    assert!(
        replies
            .iter()
            .any(|r| r.starts_with("550 5.1.1 <nobody@example.com>")),
        "{replies:?}"
    );
    let after_data: Vec<_> = replies
        .iter()
        .skip_while(|r| !r.starts_with("354"))
        .skip(1)
        .take_while(|r| !r.starts_with("221"))
        .collect();
    assert_eq!(after_data.len(), 2, "{replies:?}");
    assert!(
        after_data
            .iter()
            .all(|r| r.starts_with("250 2.0.0 report stored")),
        "{after_data:?}"
    );
    let db = server.db();
    let stopped = server.stop();
    assert_eq!(stopped.counts().reports, 1);
    assert_eq!(stored_origins(&db), vec![Origin::Lmtp]);
}

/// Talks to the receiver by hand: pipelined commands, the commands swaks never sends.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(port: u16) -> Client {
        let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Client {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    fn send(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).unwrap();
    }

    /// The next reply, all its lines joined.
    fn reply(&mut self) -> String {
        let mut reply = String::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            assert!(!line.is_empty(), "connection closed after {reply:?}");
            reply.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return reply;
            }
        }
    }

    fn code(&mut self) -> u16 {
        let reply = self.reply();
        reply[..3].parse().unwrap_or_else(|_| panic!("{reply:?}"))
    }
}

#[test]
fn commands_pipelining_and_error_limits() {
    let (server, port) = start("max_errors = 4", "");
    let mut client = Client::connect(port);
    assert!(client.reply().starts_with("220 mx.test ESMTP"));
    client.send("MAIL FROM:<a@b.example>\r\n");
    assert!(client.reply().starts_with("503 5.5.1 send EHLO/HELO first"));
    client.send("EHLO client.test\r\n");
    assert!(client.reply().starts_with("250-mx.test"));
    client.send("VRFY tlsrpt\r\nNOOP\r\nRSET\r\n");
    assert!(client.reply().starts_with("502 5.5.1"));
    assert_eq!(client.code(), 250);
    assert_eq!(client.code(), 250);
    // PIPELINING: the whole transaction in one write, message included.
    let report = std::fs::read_to_string(corpus("synthetic-rpt01.eml")).unwrap();
    let stuffed = report.replace("\n.", "\n..").replace('\n', "\r\n");
    client.send(&format!(
        "MAIL FROM:<r@example.org> SIZE={}\r\nRCPT TO:<tlsrpt@example.com>\r\nDATA\r\n",
        stuffed.len()
    ));
    assert_eq!(client.code(), 250);
    assert_eq!(client.code(), 250);
    assert_eq!(client.code(), 354);
    client.send(&format!("{stuffed}.\r\n"));
    assert!(client.reply().starts_with("250 2.0.0 report stored"));
    // SIZE over the cap is refused before any data.
    client.send("MAIL FROM:<r@example.org> SIZE=99999999999\r\n");
    assert!(client.reply().starts_with("552 5.3.4"));
    client.send("STARTTLS\r\n");
    assert!(client.reply().starts_with("454 4.7.0"));
    // The fourth error (after MAIL before EHLO, VRFY, STARTTLS) closes the session.
    client.send("BOGUS\r\n");
    assert!(client.reply().starts_with("500 5.5.1"));
    assert!(client.reply().starts_with("421 4.7.0"));
    let mut rest = String::new();
    client.reader.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "");
    assert_eq!(server.stop().counts().reports, 1);
}

#[test]
fn connections_over_the_limit_get_421_and_shutdown_closes_idle_sessions() {
    let (server, port) = start("max_connections = 1", "");
    let mut first = Client::connect(port);
    assert!(first.reply().starts_with("220"));
    let mut second = Client::connect(port);
    assert!(second.reply().starts_with("421 4.7.0 too many connections"));
    server.signal("TERM");
    assert!(first.reply().starts_with("421 4.3.2 shutting down"));
    let stopped = server.stop();
    assert_eq!(stopped.counts().reports, 0);
}

#[test]
fn a_client_trickling_a_command_is_cut_off_at_the_command_deadline() {
    let (server, port) = start("command_timeout_secs = 1", "");
    let mut client = Client::connect(port);
    assert!(client.reply().starts_with("220"));
    let started = std::time::Instant::now();
    // One byte every 300 ms never completes "EHLO x" in time, though every read succeeds.
    for byte in "EHLO slow.client".bytes().take(5) {
        client.writer.write_all(&[byte]).unwrap();
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(client.reply().starts_with("421 4.4.2 timeout"));
    assert!(started.elapsed() < Duration::from_secs(3));
    server.stop();
}
