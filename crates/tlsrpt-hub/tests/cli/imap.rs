//! The IMAP poller against a real Dovecot (Debian `dovecot-imapd`), started by each test
//! with a throwaway config in a temp dir on loopback ports the test picks: a passwd-file
//! user, Maildir in the temp dir, plaintext login allowed on 127.0.0.1, TLS with a test
//! certificate where asked. The mailbox is filled and inspected with a small IMAP client
//! over std TcpStream, independent of the code under test.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tlsrpt_core::report::{dedup_key, parse_report};

use crate::serve_http::{Server, free_port, lock_database, self_signed};
use crate::{corpus, hub, run, stdout, with_store};

const USER: &str = "tlsrpt";
const PASSWORD: &str = "correct horse battery staple";
const ARCHIVE: &str = "tlsrpt-archive";
const ERROR: &str = "tlsrpt-error";

/// The mailed corpus reports: four distinct reports.
const MAILED: &[&str] = &[
    "google-2022.eml",
    "google-2024-gateway-banner.eml",
    "microsoft-2023-no-timezone.eml",
    "synthetic-rpt01.eml",
];

/// A running Dovecot; stopped (SIGTERM, so it takes its children along) on drop.
struct Dovecot {
    dir: tempfile::TempDir,
    port: u16,
    imaps_port: u16,
    tls: bool,
    /// More dovecot.conf lines.
    extra: String,
    child: Option<Child>,
}

impl Dovecot {
    /// Plain IMAP on `port`; with `tls`, also STARTTLS there and implicit TLS on `imaps_port`.
    fn start(tls: bool) -> Dovecot {
        Dovecot::start_with(tls, "")
    }

    /// As [`Dovecot::start`], with `extra` lines appended to its configuration.
    fn start_with(tls: bool, extra: &str) -> Dovecot {
        let dir = tempfile::tempdir().unwrap();
        let mut dovecot = Dovecot {
            port: free_port(),
            imaps_port: free_port(),
            tls,
            extra: extra.to_owned(),
            child: None,
            dir,
        };
        dovecot.write_config();
        dovecot.launch();
        dovecot
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// As root, Dovecot refuses to run its login processes or mail access as root: they run
    /// as the Debian package's `dovenull` and `dovecot` users, which then own the Maildir.
    /// As any other user, everything runs as that user.
    fn write_config(&self) {
        let root = id(&["-u"]) == "0";
        let (mail_user, login_user) = if root {
            ("dovecot".to_owned(), "dovenull".to_owned())
        } else {
            (id(&["-un"]), id(&["-un"]))
        };
        let uid = id(&["-u", &mail_user]);
        let gid = id(&["-g", &mail_user]);
        let mail = self.path("mail");
        std::fs::create_dir(&mail).unwrap();
        if root {
            use std::os::unix::fs::PermissionsExt;
            std::os::unix::fs::chown(&mail, uid.parse().ok(), gid.parse().ok()).unwrap();
            std::fs::set_permissions(self.dir.path(), std::fs::Permissions::from_mode(0o755))
                .unwrap();
        }
        std::fs::write(self.path("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
        let dir = self.dir.path().display();
        let ssl = if self.tls {
            let (cert, key) = self_signed(self.dir.path(), "imap");
            format!(
                "ssl = yes\nssl_cert = <{}\nssl_key = <{}\n",
                cert.display(),
                key.display()
            )
        } else {
            "ssl = no\n".to_owned()
        };
        let config = format!(
            "protocols = imap
listen = 127.0.0.1
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
{ssl}disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {mail_user}
default_login_user = {login_user}
first_valid_uid = 1
mail_location = maildir:{dir}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dir}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
}}
{extra}
",
            extra = self.extra,
            port = self.port,
            imaps = if self.tls { self.imaps_port } else { 0 },
        );
        std::fs::write(self.path("dovecot.conf"), config).unwrap();
    }

    fn launch(&mut self) {
        // By path: /usr/sbin is not on every non-root user's PATH.
        let child = Command::new("/usr/sbin/dovecot")
            .arg("-F")
            .arg("-c")
            .arg(self.path("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.path("stderr.log")).unwrap())
            .spawn()
            .expect("starting dovecot (Debian package dovecot-imapd)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)) {
                let mut greeting = String::new();
                if BufReader::new(stream).read_line(&mut greeting).is_ok()
                    && greeting.starts_with("* OK")
                {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "dovecot did not start: {}{}",
                std::fs::read_to_string(self.path("stderr.log")).unwrap_or_default(),
                std::fs::read_to_string(self.path("dovecot.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM and wait: Dovecot closes every client connection on the way out.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// Drops every connection of the test user at once (`doveadm kick`): the server side
    /// of a connection lost mid-command.
    fn kick(&self) {
        let output = Command::new("doveadm")
            .arg("-c")
            .arg(self.path("dovecot.conf"))
            .args(["kick", USER])
            .output()
            .unwrap();
        assert!(output.status.success(), "doveadm kick: {output:?}");
    }

    fn client(&self) -> Probe {
        Probe::login(self.port)
    }

    /// An `[[imap]]` block for this server.
    /// The password comes from a file, as an operator keeping it out of the config would.
    fn account(&self, tls: &str, port: u16, extra: &str) -> String {
        let secret = self.path("imap-password");
        std::fs::write(&secret, format!("{PASSWORD}\n")).unwrap();
        format!(
            "[[imap]]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"{tls}\"\nusername = \"{USER}\"\n\
             password_file = {secret:?}\n{extra}\n"
        )
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}

fn id(args: &[&str]) -> String {
    let output = Command::new("id").args(args).output().unwrap();
    assert!(output.status.success(), "id {args:?}");
    stdout(&output).trim().to_owned()
}

/// A minimal IMAP client for setting up and checking the mailbox.
struct Probe {
    reader: BufReader<TcpStream>,
    tag: u32,
}

impl Probe {
    fn login(port: u16) -> Probe {
        let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut probe = Probe {
            reader: BufReader::new(stream),
            tag: 0,
        };
        probe.line();
        probe.command(&format!("LOGIN {USER} \"{PASSWORD}\""));
        probe
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "dovecot closed the connection");
        line
    }

    /// Sends `command` (and `literal`, with LITERAL+) and returns the untagged answers;
    /// panics unless the server says OK.
    fn send(&mut self, command: &str, literal: Option<&[u8]>) -> Vec<String> {
        self.tag += 1;
        let tag = format!("p{}", self.tag);
        let stream = self.reader.get_mut();
        match literal {
            Some(bytes) => {
                write!(stream, "{tag} {command} {{{}+}}\r\n", bytes.len()).unwrap();
                stream.write_all(bytes).unwrap();
                stream.write_all(b"\r\n").unwrap();
            }
            None => write!(stream, "{tag} {command}\r\n").unwrap(),
        }
        let mut untagged = Vec::new();
        loop {
            let line = self.line();
            if let Some(status) = line.strip_prefix(&format!("{tag} ")) {
                assert!(status.starts_with("OK"), "{command}: {status}");
                return untagged;
            }
            untagged.push(line);
        }
    }

    fn command(&mut self, command: &str) -> Vec<String> {
        self.send(command, None)
    }

    fn append(&mut self, folder: &str, message: &[u8]) {
        self.send(&format!("APPEND \"{folder}\""), Some(message));
    }

    /// Messages in `folder`, 0 if it does not exist.
    fn count(&mut self, folder: &str) -> usize {
        if self.command(&format!("LIST \"\" \"{folder}\"")).is_empty() {
            return 0;
        }
        let status = self.command(&format!("STATUS \"{folder}\" (MESSAGES)"));
        let line = status.first().expect("STATUS answer");
        let number = line.rsplit_once("MESSAGES ").unwrap().1;
        number.trim_end_matches([')', '\r', '\n']).parse().unwrap()
    }

    /// Every folder's message count: (INBOX, archive, error).
    fn folders(&mut self) -> (usize, usize, usize) {
        (self.count("INBOX"), self.count(ARCHIVE), self.count(ERROR))
    }
}

/// Starts `serve` with `accounts` in `dir`.
fn serve_in(dir: tempfile::TempDir, accounts: &str) -> Server {
    Server::start_in(
        dir,
        "",
        &format!("unknown_domains = \"accept\"\n{accounts}"),
    )
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool, server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "{what}:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

fn non_report() -> Vec<u8> {
    read(&corpus("../extract/non-report.eml"))
}

#[test]
fn reports_are_stored_and_archived_the_rest_goes_to_the_error_folder() {
    let dovecot = Dovecot::start(false);
    let mut probe = dovecot.client();
    for name in MAILED {
        probe.append("INBOX", &read(&corpus(name)));
    }
    probe.append("INBOX", &non_report());
    // A message stored earlier (by `ingest-mail`, or by a poll cut off before its move)
    // must be archived as a duplicate, not stored twice.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    let accepting = dir.path().join("accepting.toml");
    std::fs::write(&accepting, "unknown_domains = \"accept\"\n").unwrap();
    let mut ingest = hub()
        .args(["ingest-mail", "--db"])
        .arg(&db)
        .arg("--config")
        .arg(&accepting)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    ingest
        .stdin
        .take()
        .unwrap()
        .write_all(&read(&corpus(MAILED[0])))
        .unwrap();
    assert!(ingest.wait().unwrap().success());
    let account = dovecot.account("none", dovecot.port, "poll_interval_secs = 600");
    let mut server = serve_in(dir, &account);

    wait_until(
        "all messages moved",
        || probe.folders() == (0, 4, 1),
        &server,
    );
    server.wait_for_log("IMAP poll done");
    let log = server.log();
    assert!(!log.contains(PASSWORD), "password logged:\n{log}");
    assert_eq!(log.matches("outcome=\"stored\"").count(), 3, "{log}");
    assert_eq!(log.matches("outcome=\"duplicate\"").count(), 1, "{log}");
    assert_eq!(log.matches("outcome=\"refused\"").count(), 1, "{log}");

    // Waiting in IDLE, not for the 10-minute poll interval: a new message is taken at once.
    probe.append("INBOX", &read(&corpus("google-2022.eml")));
    wait_until(
        "IDLE noticed the new message",
        || probe.folders() == (0, 5, 1),
        &server,
    );
    server.wait_for_log("outcome=\"duplicate\"");

    let stopped = server.stop();
    let counts = stopped.counts();
    assert_eq!((counts.reports, counts.submissions), (4, 4));
    assert_eq!(counts.duplicates_seen, 2);
    let origins = with_store(&stopped.0.path().join("hub.db"), async |store| {
        store.submissions(None, 100).await.unwrap()
    });
    let imap = origins
        .iter()
        .filter(|s| s.origin == tlsrpt_store::Origin::Imap)
        .count();
    assert_eq!(imap, 3, "{origins:?}");
}

fn numbered_json(n: usize) -> String {
    std::fs::read_to_string(corpus("rfc8460-appendix-b.json"))
        .unwrap()
        .replace(
            "5065427c-23d3-47ca-b6e0-946ea0e8c4be",
            &format!("imap-drop-{n:04}"),
        )
}

#[test]
fn a_message_the_store_cannot_take_stays_in_the_folder_until_it_can() {
    let dovecot = Dovecot::start(false);
    let mut probe = dovecot.client();
    let account = dovecot.account("none", dovecot.port, "poll_interval_secs = 1");
    let mut server = serve_in(tempfile::tempdir().unwrap(), &account);
    server.wait_for_log("IMAP logged in");
    let mut locker = lock_database(&server.db());
    probe.append("INBOX", &read(&corpus(MAILED[3])));
    // The store waits its busy timeout (10 s), then says unavailable.
    server.wait_for_log("outcome=\"tempfail\"");
    assert_eq!(probe.folders(), (1, 0, 0));
    drop(locker.stdin.take());
    assert!(locker.wait().unwrap().success());
    wait_until(
        "stored on a later poll",
        || probe.folders() == (0, 1, 0),
        &server,
    );
    let counts = server.stop().counts();
    assert_eq!(counts.reports, 1);
}

/// A report-bearing message with its own report-id, so every message is a distinct report.
fn numbered_report(n: usize) -> Vec<u8> {
    let json = numbered_json(n);
    format!(
        "From: reporter@example.net\r\nTo: tlsrpt@company-y.example\r\n\
         Subject: Report Domain: company-y.example Submitter: example.net Report-ID: <imap-drop-{n:04}>\r\n\
         Message-ID: <imap-drop-{n:04}@example.net>\r\nTLS-Report-Domain: company-y.example\r\n\
         TLS-Report-Submitter: example.net\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=\"tlsrpt\"; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nTLS report\r\n\
         --b\r\nContent-Type: application/tlsrpt+json\r\n\
         Content-Disposition: attachment; filename=\"report.json\"\r\n\r\n{json}\r\n--b--\r\n"
    )
    .into_bytes()
}

#[test]
fn connections_dropped_mid_poll_lose_nothing_and_duplicate_nothing() {
    const MESSAGES: usize = 300;
    let dovecot = Dovecot::start(false);
    let mut probe = dovecot.client();
    for n in 0..MESSAGES {
        probe.append("INBOX", &numbered_report(n));
    }
    drop(probe);
    let account = dovecot.account("none", dovecot.port, "poll_interval_secs = 600");
    let server = serve_in(tempfile::tempdir().unwrap(), &account);
    for after in [10, 100] {
        wait_until(
            "messages stored",
            || server.log().matches("outcome=\"stored\"").count() >= after,
            &server,
        );
        dovecot.kick();
    }
    let stored_before = server.log().matches("outcome=\"stored\"").count();
    assert!(
        stored_before < MESSAGES,
        "the poll finished before the last drop; raise MESSAGES"
    );
    let mut probe = dovecot.client();
    wait_until(
        "every message archived after the drops",
        || probe.folders() == (0, MESSAGES, 0),
        &server,
    );
    let log = server.log();
    assert_eq!(log.matches("IMAP connection failed").count(), 2, "{log}");
    let stopped = server.stop();
    let counts = stopped.counts();
    assert_eq!(counts.reports, MESSAGES as u64);
    assert_eq!(counts.submissions, MESSAGES as u64);
    with_store(&stopped.0.path().join("hub.db"), async |store| {
        for n in 0..MESSAGES {
            let parsed = parse_report(numbered_json(n).as_bytes()).unwrap();
            let found = store
                .report_by_dedup_key(&dedup_key(&parsed.report))
                .await
                .unwrap();
            assert!(found.is_some(), "report {n} missing");
        }
    });
}

#[test]
fn implicit_tls_and_starttls_with_a_private_ca_and_a_one_shot_poll() {
    let dovecot = Dovecot::start(true);
    let mut probe = dovecot.client();
    probe.append("INBOX", &read(&corpus(MAILED[1])));
    probe.append("INBOX", &non_report());
    let cert = dovecot.path("imap.crt");
    let ca = format!("ca_file = {cert:?}");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hub.toml");
    let implicit = dovecot.account("implicit", dovecot.imaps_port, &ca);
    let starttls = dovecot.account("starttls", dovecot.port, &ca);
    std::fs::write(
        &config,
        format!(
            "database = {:?}\nunknown_domains = \"accept\"\n{implicit}",
            dir.path().join("hub.db")
        ),
    )
    .unwrap();
    let once = hub()
        .args(["imap-poll", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(once.status.success(), "{once:?}");
    assert!(
        stdout(&once).contains("1 archived, 1 to the error folder, 0 left"),
        "{once:?}"
    );
    assert_eq!(probe.folders(), (0, 1, 1));

    // STARTTLS through `serve`; and a certificate nobody vouches for is refused.
    probe.append("INBOX", &read(&corpus(MAILED[2])));
    let (other, _) = self_signed(dir.path(), "other");
    let untrusted = dovecot.account(
        "implicit",
        dovecot.imaps_port,
        &format!("ca_file = {other:?}"),
    );
    std::fs::write(&config, untrusted).unwrap();
    let refused = hub()
        .args(["imap-poll", "--db"])
        .arg(dir.path().join("hub.db"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        crate::stderr(&refused).contains("TLS handshake"),
        "{refused:?}"
    );
    assert_eq!(probe.folders(), (1, 1, 1));

    let server = serve_in(dir, &starttls);
    wait_until("STARTTLS poll", || probe.folders() == (0, 2, 1), &server);
    let counts = server.stop().counts();
    assert_eq!(counts.reports, 2);
    let missing = run(&["imap-poll"]);
    assert!(!missing.status.success());
}

/// Dovecot 2.3's post-login capabilities with MOVE (RFC 6851) left out, and with or
/// without UIDPLUS (RFC 4315); LITERAL+ stays for the probe's APPEND.
const CAPABILITIES_WITHOUT_MOVE: [&str; 2] = [
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ NAMESPACE CHILDREN UNSELECT \
     UIDPLUS",
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ NAMESPACE CHILDREN UNSELECT",
];

#[test]
fn without_move_messages_are_copied_flagged_deleted_and_expunged() {
    for capabilities in CAPABILITIES_WITHOUT_MOVE {
        // mail_log records, server side, each copy and expunge with the message's flags: a
        // MOVE expunges a message without flags, the fallback one it flagged \Deleted.
        let dovecot = Dovecot::start_with(
            false,
            &format!(
                "imap_capability = {capabilities}\n\
                 mail_plugins = $mail_plugins notify mail_log\n\
                 plugin {{\n  mail_log_events = copy expunge\n  \
                 mail_log_fields = uid box flags\n}}"
            ),
        );
        let mut probe = dovecot.client();
        let announced = probe.command("CAPABILITY").concat();
        assert!(!announced.contains(" MOVE"), "{announced}");
        assert_eq!(
            announced.contains(" UIDPLUS"),
            capabilities.ends_with("UIDPLUS")
        );
        for name in MAILED {
            probe.append("INBOX", &read(&corpus(name)));
        }
        probe.append("INBOX", &non_report());

        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("hub.toml");
        std::fs::write(
            &config,
            format!(
                "database = {:?}\nunknown_domains = \"accept\"\n{}",
                dir.path().join("hub.db"),
                dovecot.account("none", dovecot.port, "")
            ),
        )
        .unwrap();
        let once = hub()
            .args(["imap-poll", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        assert!(once.status.success(), "{capabilities}: {once:?}");
        assert!(
            stdout(&once).contains("4 archived, 1 to the error folder, 0 left"),
            "{capabilities}: {once:?}"
        );
        assert_eq!(probe.folders(), (0, 4, 1), "{capabilities}");
        let counts = with_store(&dir.path().join("hub.db"), async |store| {
            store.counts().await.unwrap()
        });
        assert_eq!((counts.reports, counts.submissions), (4, 4));

        let log = std::fs::read_to_string(dovecot.path("dovecot.log")).unwrap();
        let count = |needle: &str| log.lines().filter(|l| l.contains(needle)).count();
        assert_eq!(count(": copy from INBOX:"), 5, "{capabilities}:\n{log}");
        assert_eq!(
            count("expunge: box=INBOX, uid="),
            5,
            "{capabilities}:\n{log}"
        );
        assert_eq!(count("flags=(\\Deleted"), 5, "{capabilities}:\n{log}");
    }
}
